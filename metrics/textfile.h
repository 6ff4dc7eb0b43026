#pragma once

// The node_exporter textfile collector's file: the whole exposition written to a temporary file
// in the same directory and renamed over the old one, so the collector reads the old metrics or
// the new ones, never half a file. The temporary name does not end in .prom, so the collector
// never picks it up.

#include "common/result.h"

#include <QByteArray>
#include <QString>

namespace keyline::metrics {

// Io naming the file and the problem when the directory is missing or not writable.
Result<void> writeTextfile(const QString& path, const QByteArray& exposition);

} // namespace keyline::metrics
