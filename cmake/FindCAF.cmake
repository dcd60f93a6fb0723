# Debian's libcaf-dev 0.17.6 ships neither a CMake package config nor a .pc file.
# This module finds the libraries by hand and creates the imported targets
# CAF::core, CAF::io and CAF::openssl (the names CAF >= 0.18 exports itself).
find_package(Threads REQUIRED)
find_path(CAF_INCLUDE_DIR caf/all.hpp)
set(_caf_ok TRUE)
foreach(comp core io openssl)
  find_library(CAF_${comp}_LIBRARY caf_${comp})
  if(CAF_${comp}_LIBRARY AND NOT TARGET CAF::${comp})
    add_library(CAF::${comp} SHARED IMPORTED)
    set_target_properties(CAF::${comp} PROPERTIES
      IMPORTED_LOCATION "${CAF_${comp}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
endforeach()
if(TARGET CAF::io)
  set_property(TARGET CAF::io APPEND PROPERTY INTERFACE_LINK_LIBRARIES CAF::core)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF REQUIRED_VARS CAF_INCLUDE_DIR CAF_core_LIBRARY)
