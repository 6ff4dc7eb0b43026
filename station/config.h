#pragma once

#include "common/result.h"

#include <QString>
#include <QStringList>
#include <cstdint>

namespace keyline::station {

// Everything the station reads from keyline.conf (docs/configuration.md lists every key with
// its default). The defaults alone give a working development station.
struct StationConfig {
    QString sourceFile; // empty: no file, embedded defaults

    QString stationName;
    QString dataDir;

    QStringList transports; // "sim", "usb"
    QString socketDir;
    int commandTimeoutMs = 3000;

    std::uint16_t usbVendorId = 0x1209;
    std::uint16_t usbProductId = 0x4b4c;

    QString siliconVendorRoot;
};

// Finds the configuration: `explicitPath`, else $KEYLINE_CONFIG, else
// $XDG_CONFIG_HOME/keyline/keyline.conf, else /etc/keyline/keyline.conf, else defaults.
// A file that is named explicitly must exist; any file found must parse and hold only known
// keys with valid values (BadInput naming the file, key and problem).
Result<StationConfig> loadConfig(const QString& explicitPath = {});

// The defaults, with $XDG_* resolved.
StationConfig defaultConfig();

// Where loadConfig() looks, in order, for `keyline doctor` and --help.
QStringList configSearchPath();

} // namespace keyline::station
