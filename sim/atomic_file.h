#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

// Crash-safe storage for the virtual devices: a state file is either the old or the new
// version, never half of one, because a killed simulator must look like a device that lost power.
namespace keyline::sim {

// Writes `bytes` to "<path>.tmp", fsyncs it, renames it over `path` and fsyncs the directory.
// `privateFile` makes the file mode 0600 (it holds key material).
Result<void> writeFileAtomically(const QString& path, const QByteArray& bytes,
                                 bool privateFile = true);

Result<QByteArray> readWholeFile(const QString& path);

// fsync on a directory, so that a rename or unlink in it is durable.
Result<void> syncDirectory(const QString& directory);

QString systemErrorText(int err);

} // namespace keyline::sim
