# The restore engine (lead): Restorer::Run, the backup-contents index, the priority loop and
# the per-item pipeline.
lifeboat_cc_library(NAME restore
  SRCS ${CMAKE_CURRENT_LIST_DIR}/restorer.cc ${CMAKE_CURRENT_LIST_DIR}/item_restorer.cc
       ${CMAKE_CURRENT_LIST_DIR}/namespaces_volumes.cc ${CMAKE_CURRENT_LIST_DIR}/glue.cc
       ${CMAKE_CURRENT_LIST_DIR}/backup_contents.cc ${CMAKE_CURRENT_LIST_DIR}/priorities.cc
       ${CMAKE_CURRENT_LIST_DIR}/object_util.cc
  DEPS common kube storage api archive plugin engine restore_actions restore_modifiers
       restore_hooks OpenSSL::Crypto Threads::Threads)
lifeboat_cc_test(NAME restore_engine_unit_test SRCS ${CMAKE_CURRENT_LIST_DIR}/engine_unit_test.cc
  DEPS restore LABELS unit)
# RestorerOptions::resume against kubesim (an interrupted restore run again).
lifeboat_cc_test(NAME restore_resume_test SRCS ${CMAKE_CURRENT_LIST_DIR}/resume_test.cc
  DEPS restore storage_testing kube_testing LABELS integration TIMEOUT 300)
