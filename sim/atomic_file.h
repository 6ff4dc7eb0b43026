#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

// Crash-safe storage for the virtual devices: a state file is either the old or the new
// version, never half of one, because a killed simulator must look like a device that lost power.
namespace keyline::sim {

// What a write must survive. The virtual device models its own power loss (faults), so what
// it must survive is the simulator process being killed: the page cache outlives the process.
// Host means the host losing power too (fsync), for state that is rare and precious.
enum class Durability { Process, Host };

// Writes `bytes` to "<path>.tmp" and swaps it into place as `path` (the previous version stays
// behind in "<path>.tmp"); with Durability::Host it also fsyncs the file and the directory.
// `privateFile` makes the file mode 0600 (key material).
Result<void> writeFileAtomically(const QString& path, const QByteArray& bytes,
                                 bool privateFile = true, Durability durability = Durability::Host);

Result<QByteArray> readWholeFile(const QString& path);

// fsync on a directory, so that a rename or unlink in it is durable.
Result<void> syncDirectory(const QString& directory);

QString systemErrorText(int err);

} // namespace keyline::sim
