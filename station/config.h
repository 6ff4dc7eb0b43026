#pragma once

#include "common/result.h"
#include "hsm/key_uri.h"
#include "metrics/metrics_settings.h"
#include "provisioning/registration_client.h"

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
    // Who headless runs are recorded as when no --operator is given (empty: --operator needed).
    QString serviceAccount;
    QString databasePath; // SQLite file; default <data_dir>/keyline.db
    // [database] url: a shared PostgreSQL database (postgresql://user@host:port/dbname) for a
    // line of stations; when set, `path` is not used. Never holds a password.
    QString databaseUrl;

    QStringList transports; // "sim", "usb"
    QString socketDir;
    int commandTimeoutMs = 3000;

    std::uint16_t usbVendorId = 0x1209;
    std::uint16_t usbProductId = 0x4b4c;

    QString siliconVendorRoot;

    // [hsm]: the PKCS#11 module, token and keys (docs/configuration.md).
    QString hsmModule = QStringLiteral("/usr/lib/softhsm/libsofthsm2.so");
    QString hsmToken = QStringLiteral("keyline-dev");
    QByteArray hsmPin;   // from the file only; empty: $KEYLINE_HSM_PIN, then dev default / prompt
    QString softhsmConf; // default <data_dir>/softhsm/softhsm2.conf
    int hsmMaxSessions = 8;
    hsm::KeyUri issuingCaKey;       // default: object=keyline-issuing-ca on hsmToken
    hsm::KeyUri keystoreSigningKey; // default: object=keyline-keystore-signing
    hsm::KeyUri imageKey;           // default: object=keyline-image-key
    hsm::KeyUri auditKey;           // default: object=keyline-audit-signing

    // [backend]: the device registry (docs/configuration.md). url empty: registration disabled
    // (the outbox keeps filling); ca_file default <data_dir>/export/device-root-ca.pem;
    // client_key default object=keyline-station-tls on hsmToken.
    provisioning::BackendSettings backend;

    // [metrics]: the line metrics' HTTP endpoint and node_exporter textfile, both off by default
    // (docs/configuration.md, docs/operator-guide.md "Line metrics").
    metrics::MetricsSettings metrics;
};

// The PIN of the SoftHSM2 development token that `keyline hsm init-dev` creates, used only
// when nothing else gives one and only for that token (docs/configuration.md). Never a
// production PIN: production HSMs get theirs from [hsm] pin, $KEYLINE_HSM_PIN or a prompt.
inline const QByteArray kDevTokenDefaultPin = QByteArrayLiteral("1234");

// The largest keyline.conf the station reads (the documented keys fit in a few KiB).
inline constexpr qint64 kMaxConfigBytes = 1024 * 1024;

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
