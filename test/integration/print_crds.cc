// Test tool: prints the Velero CRDs Lifeboat generates (api::CrdsYaml) for `kubectl apply -f -`
// in the server acceptance test, until `lifeboat install` (issue 9) can do it.
#include <cstdio>

#include "lifeboat/api/crds.h"

int main() {
  std::fputs(lifeboat::api::CrdsYaml().c_str(), stdout);
  return 0;
}
