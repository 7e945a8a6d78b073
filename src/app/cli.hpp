#pragma once

namespace zhenwu::app {

// Parses the command line (serve, backup, restore, …) and runs the subcommand; returns the exit
// code.
int RunCli(int argc, char** argv);

}  // namespace zhenwu::app
