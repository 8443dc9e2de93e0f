# Finds Debian's header-only hnswlib (package libhnswlib-dev) and exposes it as
# the imported target hnswlib::hnswlib.
find_path(Hnswlib_INCLUDE_DIR NAMES hnswlib/hnswlib.h)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Hnswlib REQUIRED_VARS Hnswlib_INCLUDE_DIR)
if(Hnswlib_FOUND AND NOT TARGET hnswlib::hnswlib)
  add_library(hnswlib::hnswlib INTERFACE IMPORTED)
  set_target_properties(hnswlib::hnswlib PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Hnswlib_INCLUDE_DIR}")
endif()
mark_as_advanced(Hnswlib_INCLUDE_DIR)
