# The built-in RestoreItemActions (docs/restore-actions.md), one small unit each.
set(_ra ${CMAKE_CURRENT_SOURCE_DIR}/actions)
lifeboat_cc_library(NAME restore_actions
  SRCS ${_ra}/common.cc ${_ra}/builtin_actions.cc
    ${_ra}/add_pvc_from_pod_action.cc ${_ra}/admission_webhook_action.cc
    ${_ra}/apiservice_action.cc ${_ra}/change_image_name_action.cc
    ${_ra}/change_storage_class_action.cc ${_ra}/cluster_role_binding_action.cc
    ${_ra}/crd_preserve_fields_action.cc ${_ra}/job_action.cc ${_ra}/pod_action.cc
    ${_ra}/pvc_action.cc ${_ra}/role_binding_action.cc ${_ra}/secret_action.cc
    ${_ra}/service_action.cc ${_ra}/service_account_action.cc
  DEPS common kube api plugin Boost::json absl::strings)

lifeboat_cc_test(NAME restore_actions_test
  SRCS ${_ra}/actions_test.cc ${_ra}/service_action_test.cc
  DEPS restore_actions LABELS unit)
lifeboat_cc_test(NAME restore_actions_kubesim_test SRCS ${_ra}/actions_kubesim_test.cc
  DEPS restore_actions kube_testing LABELS integration TIMEOUT 300)

# The CSI restore actions (velero.io/csi-*-restorer; docs/restore-actions.md "CSI snapshots").
target_sources(restore_actions PRIVATE ${_ra}/csi_pvc_action.cc ${_ra}/csi_snapshot_actions.cc)
target_link_libraries(restore_actions PUBLIC OpenSSL::Crypto)
lifeboat_cc_test(NAME restore_csi_actions_test SRCS ${_ra}/csi_actions_test.cc
  DEPS restore_actions LABELS unit)
# The PV decisions and the CSI actions end to end (Restorer, hand-built backups, kubesim).
lifeboat_cc_test(NAME restore_volumes_kubesim_test SRCS ${_ra}/csi_restore_kubesim_test.cc
  DEPS restore storage_testing kube_testing LABELS integration TIMEOUT 300)
