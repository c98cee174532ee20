# Restore hooks (docs/restore-hooks.md): the init-container RestoreItemAction and the exec hooks
# run in restored pods.
lifeboat_cc_library(NAME restore_hooks
  SRCS hooks.cc hook_plan.cc hook_exec.cc
  DEPS common kube api plugin engine Threads::Threads)
lifeboat_cc_test(NAME restore_hooks_test SRCS hooks_test.cc
  DEPS restore_hooks api kube_testing LABELS integration TIMEOUT 300)
