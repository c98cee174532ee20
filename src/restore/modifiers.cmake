# Velero's restore resource modifiers (docs/resource-modifiers.md): rules of JSON patches,
# merge patches and strategic merge patches, on the common json_patch library.
lifeboat_cc_library(NAME restore_modifiers
  SRCS resource_modifiers.cc resource_modifiers_parse.cc
  DEPS common json_patch api kube absl::strings Boost::json)
lifeboat_cc_test(NAME restore_modifiers_test SRCS resource_modifiers_test.cc
  DEPS restore_modifiers LABELS unit)
lifeboat_cc_test(NAME restore_modifiers_kubesim_test SRCS resource_modifiers_kubesim_test.cc
  DEPS restore_modifiers kube_testing LABELS integration TIMEOUT 300)
