// zhenwu: the one binary. Wiring lives in app/; this file only dispatches subcommands.
#include "app/cli.hpp"

int main(int argc, char** argv) { return zhenwu::app::RunCli(argc, argv); }
