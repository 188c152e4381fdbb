# Sanitized builds, each in its own build folder (scripts/sanitize.sh,
# scripts/fuzz.sh):
# - CITADEL_SANITIZE=address,undefined (or thread, or any -fsanitize= list)
#   compiles and links every target (host, plugins, tests) with those
#   sanitizers, GCC or clang.
# - CITADEL_FUZZ=ON (clang only) instruments the libraries for libFuzzer with
#   ASan and UBSan and builds only the fuzz targets in tests/fuzz (the
#   "citadel-fuzz" target), no tests, plugins or benchmarks.
set(CITADEL_SANITIZE "" CACHE STRING
    "Sanitizers for every target, as -fsanitize= takes them: address,undefined | thread")
option(CITADEL_FUZZ "Build only the libFuzzer targets of tests/fuzz (clang, ASan + UBSan)" OFF)

if(CITADEL_SANITIZE AND CITADEL_FUZZ)
  message(FATAL_ERROR "CITADEL_FUZZ brings its own sanitizers: leave CITADEL_SANITIZE empty")
endif()

set(citadel_sanitize_compile "")
if(CITADEL_SANITIZE)
  set(citadel_sanitize_compile -fsanitize=${CITADEL_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${CITADEL_SANITIZE})
  message(STATUS "Citadel sanitizers: ${CITADEL_SANITIZE}")
elseif(CITADEL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CITADEL_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  # Every UBSan finding aborts, so that libFuzzer keeps the input as a crash.
  # -fsanitize=function is left out: with the fuzzer's coverage it makes
  # clang 14 fail on coroutines ("Cannot represent a difference across sections").
  set(citadel_sanitize_compile -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize=function -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(CITADEL_BUILD_TESTS OFF)
  set(CITADEL_BUILD_BENCH OFF)
  message(STATUS "Citadel fuzz build: libFuzzer + ASan + UBSan, fuzz targets only")
endif()
add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${citadel_sanitize_compile}>")
