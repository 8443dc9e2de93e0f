# core/'s layers: one folder and one static library (recserve_core_<layer>)
# each, linking only the layers below it.
#
#   recserve_core_layer(<layer> [<lower layer or other library>...])
#     Builds core/<layer>/*.cc into recserve_core_<layer> (an interface library
#     while the folder has no .cc), links the named lower layers and
#     libraries, and records which layers <layer> may include: the ones named
#     and everything below them.
#   recserve_check_core_layers()
#     Adds check_core_layers, which every layer library depends on: it runs
#     CheckCoreLayers.cmake over core/ whenever a file there changes and fails
#     the build on an include of a layer that is not below the including one
#     (or of gRPC).

set_property(GLOBAL PROPERTY RECSERVE_CORE_LAYERS "")

function(recserve_core_layer layer)
  set(libraries "")
  set(allowed "")
  get_property(known GLOBAL PROPERTY RECSERVE_CORE_LAYERS)
  foreach(dep IN LISTS ARGN)
    if(dep IN_LIST known)
      list(APPEND libraries recserve_core_${dep})
      get_property(below GLOBAL PROPERTY RECSERVE_CORE_BELOW_${dep})
      list(APPEND allowed ${dep} ${below})
    else()
      list(APPEND libraries ${dep})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_property(GLOBAL PROPERTY RECSERVE_CORE_BELOW_${layer} "${allowed}")
  set_property(GLOBAL APPEND PROPERTY RECSERVE_CORE_LAYERS ${layer})

  file(GLOB sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/core/${layer}/*.cc")
  set(target recserve_core_${layer})
  if(sources)
    add_library(${target} STATIC ${sources})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  target_include_directories(${target} ${scope} "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${target} ${scope} ${libraries})
  foreach(lib IN LISTS libraries)
    if(lib MATCHES "grpc")
      message(FATAL_ERROR "core/ must not depend on gRPC (${layer} links ${lib})")
    endif()
  endforeach()
endfunction()

function(recserve_check_core_layers)
  get_property(layers GLOBAL PROPERTY RECSERVE_CORE_LAYERS)
  set(rules "")
  foreach(layer IN LISTS layers)
    get_property(below GLOBAL PROPERTY RECSERVE_CORE_BELOW_${layer})
    string(REPLACE ";" "," below "${below}")
    list(APPEND rules "${layer}=${below}")
  endforeach()
  string(REPLACE ";" "|" rules "${rules}")
  # For the check's own tests (CMakeLists.txt, core_layers_hold).
  set_property(GLOBAL PROPERTY RECSERVE_CORE_LAYER_RULES "${rules}")
  file(GLOB_RECURSE files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/core/*.h"
    "${PROJECT_SOURCE_DIR}/core/*.cc")
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/core_layers.checked")
  add_custom_command(OUTPUT "${stamp}"
    COMMAND "${CMAKE_COMMAND}" "-DCORE_DIR=${PROJECT_SOURCE_DIR}/core"
      "-DRULES=${rules}" -P "${PROJECT_SOURCE_DIR}/cmake/CheckCoreLayers.cmake"
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    DEPENDS ${files} "${PROJECT_SOURCE_DIR}/cmake/CheckCoreLayers.cmake"
    COMMENT "Checking core/'s layer order"
    VERBATIM)
  add_custom_target(check_core_layers DEPENDS "${stamp}")
  foreach(layer IN LISTS layers)
    add_dependencies(recserve_core_${layer} check_core_layers)
  endforeach()
endfunction()
