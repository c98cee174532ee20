#pragma once

// Output of the client commands: Velero's tables (kubectl's tab writer: columns padded to the
// widest cell plus three spaces), its time formats, and -o json|yaml.
//
// Thread safety: pure functions.

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/api/label_selector.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/status.h"

namespace lifeboat::cli {

using Row = std::vector<std::string>;

// Header and rows aligned in columns (each column as wide as its widest cell plus 3 spaces,
// at least 6; the last column unpadded), one line per row, each ending in '\n'.
std::string FormatTable(const Row& header, const std::vector<Row>& rows);

// Go's time.Time.String() in UTC as Velero's tables show timestamps:
// "2026-05-01 02:00:00 +0000 UTC". An unset or unparsable timestamp gives "<nil>".
std::string FormatTime(const std::optional<std::string>& rfc3339);

// Kubernetes' duration.ShortHumanDuration: "45s", "12m", "5h", "29d", "2y"; "0s" for small
// negatives, "<invalid>" below -1 s.
std::string ShortHumanDuration(std::chrono::seconds d);

// Velero's "EXPIRES" / "LAST BACKUP" cells: "29d" ahead, "3h ago" past, "n/a" when unset.
std::string HumanTimeFromNow(const std::optional<std::string>& rfc3339, api::TimePoint now);

// metav1.FormatLabelSelector: "<none>" for an absent or empty selector.
std::string FormatSelector(const std::optional<api::LabelSelector>& selector);

// "a=b, c=d" (sorted), "<none>" when empty — describe's Labels / Annotations lines.
std::string FormatMap(const std::map<std::string, std::string>& m);

// "a, b" or `none` when the list is empty.
std::string JoinOr(const std::vector<std::string>& items, std::string_view none);

// -o json|yaml of objects: one object alone when `single`, otherwise a `kind: List`
// (apiVersion v1) holding them; metadata.managedFields are left out. JSON is pretty-printed with
// two-space indentation. InvalidArgument for another format.
StatusOr<std::string> FormatObjects(const std::vector<boost::json::value>& objects, bool single,
                                    std::string_view format);

// Two-space indented JSON text followed by a newline.
std::string PrettyJson(const boost::json::value& v);

// Parses "k1=v1,k2=v2" (Velero's map flags: --labels, --annotations). InvalidArgument naming
// `flag` for an entry without '=' or with an empty key.
StatusOr<std::map<std::string, std::string>> ParseKeyValues(std::string_view text,
                                                            std::string_view flag,
                                                            char separator = '=');

// Splits a comma-separated flag value, dropping empty parts and surrounding spaces.
std::vector<std::string> SplitList(std::string_view text);

// describe --details: the results file {"errors": R, "warnings": R} (R = {"velero": [...],
// "cluster": [...], "namespaces": {"ns": [...]}}) as Velero prints it ("Errors:" / "Warnings:"
// with Velero, Cluster and Namespaces parts), and a resource list {"v1/ConfigMap": [...]}.
// Values of unexpected shapes are shown as "<none>" rather than failing.
std::string FormatResults(const boost::json::value& results);
std::string FormatResourceList(const boost::json::value& list);

}  // namespace lifeboat::cli
