# PCRE2 (tokenizer files' regexes) and utf8proc (Unicode normalization and categories) from
# Debian's libpcre2-dev and libutf8proc-dev, or any prefix on CMAKE_PREFIX_PATH (e.g. the folder
# scripts/gpu/unpack_debs.sh fills on a machine without a package manager). No pkg-config needed.
find_path(PCRE2_INCLUDE_DIR pcre2.h)
find_library(PCRE2_LIBRARY NAMES pcre2-8)
find_path(UTF8PROC_INCLUDE_DIR utf8proc.h)
find_library(UTF8PROC_LIBRARY NAMES utf8proc)
foreach(found PCRE2_INCLUDE_DIR PCRE2_LIBRARY UTF8PROC_INCLUDE_DIR UTF8PROC_LIBRARY)
  if(NOT ${found})
    message(FATAL_ERROR "collapse: ${found} not found (Debian: apt-get install libpcre2-dev "
                        "libutf8proc-dev; or run scripts/bootstrap.sh)")
  endif()
endforeach()
add_library(collapse::pcre2 INTERFACE IMPORTED)
target_include_directories(collapse::pcre2 SYSTEM INTERFACE "${PCRE2_INCLUDE_DIR}")
target_link_libraries(collapse::pcre2 INTERFACE "${PCRE2_LIBRARY}")
add_library(collapse::utf8proc INTERFACE IMPORTED)
target_include_directories(collapse::utf8proc SYSTEM INTERFACE "${UTF8PROC_INCLUDE_DIR}")
target_link_libraries(collapse::utf8proc INTERFACE "${UTF8PROC_LIBRARY}")
