# SentencePiece from Debian's libsentencepiece-dev (or any prefix on CMAKE_PREFIX_PATH, e.g. the
# folder scripts/gpu/unpack_debs.sh fills on a machine without a package manager).
find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h)
find_library(SENTENCEPIECE_LIBRARY NAMES sentencepiece)
find_library(SENTENCEPIECE_TRAIN_LIBRARY NAMES sentencepiece_train)
if(NOT SENTENCEPIECE_INCLUDE_DIR OR NOT SENTENCEPIECE_LIBRARY OR NOT SENTENCEPIECE_TRAIN_LIBRARY)
  message(FATAL_ERROR "collapse: SentencePiece not found (Debian: apt-get install libsentencepiece-dev; "
                      "or run scripts/bootstrap.sh)")
endif()
add_library(collapse::sentencepiece INTERFACE IMPORTED)
target_include_directories(collapse::sentencepiece SYSTEM INTERFACE "${SENTENCEPIECE_INCLUDE_DIR}")
target_link_libraries(collapse::sentencepiece INTERFACE
  "${SENTENCEPIECE_TRAIN_LIBRARY}" "${SENTENCEPIECE_LIBRARY}")
