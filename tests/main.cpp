// Catch2 runner. SystemC's library provides main() and calls sc_main(), so the test runner
// lives in sc_main. ctest runs every TEST_CASE in its own process because SystemC can elaborate
// only once per process.
#include <systemc>  // declares sc_main with C linkage, as the library expects

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int sc_main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
