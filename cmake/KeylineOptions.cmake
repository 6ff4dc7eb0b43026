# Compile options every Keyline target shares: warnings are errors, sanitizers on request.
add_library(keyline_options INTERFACE)
add_library(keyline::options ALIAS keyline_options)

target_compile_options(keyline_options INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2)
target_compile_definitions(keyline_options INTERFACE
  QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_URL_CAST_FROM_STRING
  QT_NO_KEYWORDS OPENSSL_API_COMPAT=30000 OPENSSL_NO_DEPRECATED
  KEYLINE_VERSION="${PROJECT_VERSION}")

if(KEYLINE_SANITIZE)
  target_compile_options(keyline_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(keyline_options INTERFACE -fsanitize=address,undefined)
endif()

if(KEYLINE_BUILD_FUZZ)
  # Coverage instrumentation for libFuzzer everywhere; the fuzz targets add the fuzzer main.
  target_compile_options(keyline_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(keyline_options INTERFACE -fsanitize=address,undefined)
endif()

# keyline_add_library(NAME folder-name SOURCES ... ) -> target keyline_NAME, alias keyline::NAME
function(keyline_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(keyline_${name} STATIC ${ARG_SOURCES})
  add_library(keyline::${name} ALIAS keyline_${name})
  target_include_directories(keyline_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(keyline_${name} PUBLIC keyline::options ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  set_target_properties(keyline_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
