#include "app/cli.hpp"

namespace zhenwu::app {

int RunCli(int, char**) { return 0; }

}  // namespace zhenwu::app
