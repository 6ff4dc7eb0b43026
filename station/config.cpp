#include "station/config.h"

#include "db/database_url.h"
#include "flashing/socket_transport.h"
#include "hsm/key_inventory.h"
#include "metrics/http_endpoint.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QSysInfo>
#include <QUrl>
#include <tuple>

namespace keyline::station {
namespace {

QString xdgDir(const char* variable, const QString& fallbackUnderHome) {
    QByteArray value = qgetenv(variable);
    if (!value.isEmpty())
        return QString::fromLocal8Bit(value);
    return QDir::home().filePath(fallbackUnderHome);
}

// `key` and `why` may quote the file's own text (QSettings unescapes "\n" in values).
Error badValue(const QString& file, const QString& key, const QString& why) {
    return Error(
        ErrorCode::BadInput,
        QStringLiteral("%1: [%2] %3").arg(file, printableText(key, 80), printableText(why, 300)));
}

const QStringList& knownKeys() {
    static const QStringList keys{
        QStringLiteral("station/name"),
        QStringLiteral("station/data_dir"),
        QStringLiteral("devices/transports"),
        QStringLiteral("devices/socket_dir"),
        QStringLiteral("devices/command_timeout_ms"),
        QStringLiteral("usb/vendor_id"),
        QStringLiteral("usb/product_id"),
        QStringLiteral("trust/silicon_vendor_root"),
        QStringLiteral("hsm/module"),
        QStringLiteral("hsm/token"),
        QStringLiteral("hsm/pin"),
        QStringLiteral("hsm/softhsm2_conf"),
        QStringLiteral("hsm/max_sessions"),
        QStringLiteral("hsm/issuing_ca"),
        QStringLiteral("hsm/keystore_signing"),
        QStringLiteral("hsm/image_key"),
        QStringLiteral("hsm/audit_key"),
        QStringLiteral("station/service_account"),
        QStringLiteral("database/path"),
        QStringLiteral("database/url"),
        QStringLiteral("backend/url"),
        QStringLiteral("backend/ca_file"),
        QStringLiteral("backend/client_key"),
        QStringLiteral("backend/timeout_ms"),
        QStringLiteral("metrics/listen"),
        QStringLiteral("metrics/textfile"),
        QStringLiteral("metrics/interval_ms"),
    };
    return keys;
}

Result<std::uint16_t> parseUsbId(const QString& file, const QString& key, const QString& text) {
    bool ok = false;
    uint value =
        text.startsWith(QStringLiteral("0x")) ? text.mid(2).toUInt(&ok, 16) : text.toUInt(&ok, 16);
    if (!ok || value > 0xFFFF)
        return badValue(
            file, key,
            QStringLiteral("\"%1\" is not a 16-bit hexadecimal USB ID (e.g. 0x1209)").arg(text));
    return std::uint16_t(value);
}

// QSettings splits unquoted commas into a list; a PIN or path may hold one.
QString rawText(const QSettings& ini, const QString& key) {
    const QVariant v = ini.value(key);
    return v.typeId() == QMetaType::QStringList ? v.toStringList().join(QLatin1Char(','))
                                                : v.toString();
}

// A duration key: a whole number of milliseconds from 100 to `max`.
Result<int> milliseconds(const QSettings& ini, const QString& path, const QString& key, int max) {
    bool ok = false;
    const int ms = rawText(ini, key).trimmed().toInt(&ok);
    if (!ok || ms < 100 || ms > max)
        return badValue(
            path, key,
            QStringLiteral("must be a whole number of milliseconds, 100 to %1").arg(max));
    return ms;
}

Result<hsm::KeyUri> parseKeyUri(const QString& file, const QString& key, const QString& text,
                                const QString& token, const char* expectedType) {
    auto uri = hsm::KeyUri::parse(text);
    if (!uri.ok()) {
        QString why = uri.error().message();
        // In INI files an unquoted ';' starts a comment and cuts a URI after its first part.
        if (!text.contains(QLatin1Char(';')))
            why += QStringLiteral("; a ';' starts a comment in keyline.conf, so quote the URI: "
                                  "\"pkcs11:token=...;object=...\"");
        return badValue(file, key, why);
    }
    if (!uri->token.isEmpty() && uri->token != token)
        return badValue(file, key,
                        QStringLiteral("names token '%1' but [hsm] token is '%2'; keys must be on "
                                       "the station's token")
                            .arg(uri->token, token));
    if (!uri->type.isEmpty() && uri->type != QLatin1String(expectedType))
        return badValue(file, key,
                        QStringLiteral("type=%1, this key is type=%2")
                            .arg(uri->type, QLatin1String(expectedType)));
    if (uri->token.isEmpty())
        uri->token = token;
    if (uri->type.isEmpty())
        uri->type = QLatin1String(expectedType);
    return uri;
}

Result<void> applyHsm(StationConfig& config, const QSettings& ini, const QString& path) {
    auto has = [&](const char* key) {
        return ini.contains(QLatin1String(key));
    };
    auto value = [&](const char* key) {
        return rawText(ini, QLatin1String(key)).trimmed();
    };
    if (has("hsm/module")) {
        config.hsmModule = value("hsm/module");
        if (!QDir::isAbsolutePath(config.hsmModule))
            return badValue(path, QStringLiteral("hsm/module"),
                            QStringLiteral("must be the absolute path of the PKCS#11 module "
                                           "(e.g. /usr/lib/softhsm/libsofthsm2.so)"));
    }
    if (has("hsm/token")) {
        config.hsmToken = value("hsm/token");
        if (config.hsmToken.isEmpty() || config.hsmToken.toUtf8().size() > 32)
            return badValue(path, QStringLiteral("hsm/token"),
                            QStringLiteral("must be a token label of 1 to 32 bytes"));
    }
    if (has("hsm/pin")) {
        // Never quote the value back: the messages below name the key only.
        const QByteArray pin = rawText(ini, QStringLiteral("hsm/pin")).toUtf8();
        if (pin.isEmpty() || pin.size() > 255)
            return badValue(path, QStringLiteral("hsm/pin"),
                            QStringLiteral("must be 1 to 255 bytes; leave the key out to use "
                                           "$KEYLINE_HSM_PIN or a prompt"));
        const QFileDevice::Permissions perms = QFileInfo(path).permissions();
        if (perms & (QFileDevice::ReadGroup | QFileDevice::ReadOther))
            return badValue(path, QStringLiteral("hsm/pin"),
                            QStringLiteral("the file holds a PIN but other users can read it: "
                                           "chmod 600 it, or use $KEYLINE_HSM_PIN instead"));
        config.hsmPin = pin;
    }
    if (has("hsm/softhsm2_conf"))
        config.softhsmConf = value("hsm/softhsm2_conf");
    if (has("hsm/max_sessions")) {
        bool ok = false;
        const int n = value("hsm/max_sessions").toInt(&ok);
        if (!ok || n < 1 || n > 64)
            return badValue(path, QStringLiteral("hsm/max_sessions"),
                            QStringLiteral("must be a whole number, 1 to 64"));
        config.hsmMaxSessions = n;
    }
    for (auto [key, target, type] :
         {std::tuple{"hsm/issuing_ca", &config.issuingCaKey, "private"},
          std::tuple{"hsm/keystore_signing", &config.keystoreSigningKey, "private"},
          std::tuple{"hsm/image_key", &config.imageKey, "secret"},
          std::tuple{"hsm/audit_key", &config.auditKey, "private"}}) {
        if (has(key)) {
            KL_TRY_ASSIGN(*target,
                          parseKeyUri(path, QLatin1String(key), value(key), config.hsmToken, type));
        }
    }
    return success();
}

Result<void> applyBackend(StationConfig& config, const QSettings& ini, const QString& path) {
    auto has = [&](const char* key) {
        return ini.contains(QLatin1String(key));
    };
    auto value = [&](const char* key) {
        return rawText(ini, QLatin1String(key)).trimmed();
    };
    if (has("backend/url")) {
        const QString url = value("backend/url");
        const QUrl parsed(url, QUrl::StrictMode);
        if (!url.isEmpty() && (!parsed.isValid() || parsed.scheme() != QLatin1String("https") ||
                               parsed.host().isEmpty() || !parsed.userInfo().isEmpty() ||
                               parsed.hasQuery() || parsed.hasFragment() ||
                               (!parsed.path().isEmpty() && parsed.path() != QLatin1String("/"))))
            return badValue(path, QStringLiteral("backend/url"),
                            QStringLiteral("must be https://HOST[:PORT] (TLS is required), or "
                                           "empty to disable registration"));
        config.backend.url = url.endsWith(QLatin1Char('/')) ? url.chopped(1) : url;
    }
    if (has("backend/ca_file")) {
        config.backend.caFile = value("backend/ca_file");
        if (config.backend.caFile.isEmpty())
            return badValue(path, QStringLiteral("backend/ca_file"),
                            QStringLiteral("must be a path, not empty"));
    }
    if (has("backend/timeout_ms")) {
        KL_TRY_ASSIGN(config.backend.timeoutMs,
                      milliseconds(ini, path, QStringLiteral("backend/timeout_ms"), 600000));
    }
    if (has("backend/client_key")) {
        KL_TRY_ASSIGN(config.backend.clientKey,
                      parseKeyUri(path, QStringLiteral("backend/client_key"),
                                  value("backend/client_key"), config.hsmToken, "private"));
    }
    return success();
}

Result<void> applyMetrics(StationConfig& config, const QSettings& ini, const QString& path) {
    auto value = [&](const char* key) {
        return rawText(ini, QLatin1String(key)).trimmed();
    };
    metrics::MetricsSettings& m = config.metrics;
    if (ini.contains(QStringLiteral("metrics/listen"))) {
        m.listen = value("metrics/listen");
        if (!m.listen.isEmpty())
            if (auto parsed = metrics::parseListenAddress(m.listen); !parsed)
                return badValue(path, QStringLiteral("metrics/listen"),
                                parsed.error().message() + QStringLiteral(", or empty for none"));
    }
    if (ini.contains(QStringLiteral("metrics/textfile"))) {
        m.textfile = value("metrics/textfile");
        // node_exporter reads only *.prom files, and a relative path would follow the cwd.
        if (!m.textfile.isEmpty() &&
            (!QDir::isAbsolutePath(m.textfile) || !m.textfile.endsWith(QStringLiteral(".prom"))))
            return badValue(path, QStringLiteral("metrics/textfile"),
                            QStringLiteral("must be an absolute path ending in .prom (e.g. "
                                           "/var/lib/node_exporter/keyline.prom), or empty"));
    }
    if (ini.contains(QStringLiteral("metrics/interval_ms"))) {
        KL_TRY_ASSIGN(m.intervalMs,
                      milliseconds(ini, path, QStringLiteral("metrics/interval_ms"), 3600000));
    }
    return success();
}

Result<void> applyFile(StationConfig& config, const QString& path) {
    QSettings ini(path, QSettings::IniFormat);
    if (ini.status() != QSettings::NoError)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("%1: not a valid INI file (check [sections] and key = value "
                                    "lines)")
                         .arg(path));
    const QStringList keys = ini.allKeys();
    for (const QString& key : keys)
        if (!knownKeys().contains(key))
            return badValue(path, key,
                            QStringLiteral("is not a known setting; see docs/configuration.md"));

    auto text = [&](const char* key, QString& target) {
        QString k = QLatin1String(key);
        if (ini.contains(k))
            target = ini.value(k).toString().trimmed();
    };
    text("station/name", config.stationName);
    text("station/data_dir", config.dataDir);
    text("devices/socket_dir", config.socketDir);
    text("trust/silicon_vendor_root", config.siliconVendorRoot);
    text("station/service_account", config.serviceAccount);
    text("database/path", config.databasePath);
    if (ini.contains(QStringLiteral("database/url"))) {
        config.databaseUrl = rawText(ini, QStringLiteral("database/url")).trimmed();
        // Checked now, so a typo stops the station at start with the key named.
        if (auto parsed = db::databaseOptionsFromUrl(config.databaseUrl); !parsed)
            return badValue(path, QStringLiteral("database/url"), parsed.error().message());
    }

    if (ini.contains(QStringLiteral("devices/transports"))) {
        QVariant v = ini.value(QStringLiteral("devices/transports"));
        QStringList list = v.typeId() == QMetaType::QStringList
                               ? v.toStringList()
                               : v.toString().split(QLatin1Char(','));
        config.transports.clear();
        for (QString t : list) {
            t = t.trimmed();
            if (t != QLatin1String("sim") && t != QLatin1String("usb"))
                return badValue(
                    path, QStringLiteral("devices/transports"),
                    QStringLiteral("\"%1\" is not a transport (use sim, usb or both)").arg(t));
            config.transports.append(t);
        }
    }
    if (ini.contains(QStringLiteral("devices/command_timeout_ms"))) {
        bool ok = false;
        int ms = ini.value(QStringLiteral("devices/command_timeout_ms")).toString().toInt(&ok);
        if (!ok || ms < 100 || ms > 600000)
            return badValue(
                path, QStringLiteral("devices/command_timeout_ms"),
                QStringLiteral("must be a whole number of milliseconds, 100 to 600000"));
        config.commandTimeoutMs = ms;
    }
    for (auto [key, target] : {std::pair{"usb/vendor_id", &config.usbVendorId},
                               std::pair{"usb/product_id", &config.usbProductId}}) {
        QString k = QLatin1String(key);
        if (ini.contains(k)) {
            KL_TRY_ASSIGN(*target, parseUsbId(path, k, ini.value(k).toString().trimmed()));
        }
    }
    for (const char* key : {"station/data_dir", "devices/socket_dir", "trust/silicon_vendor_root",
                            "hsm/module", "hsm/softhsm2_conf", "database/path"}) {
        const QString k = QLatin1String(key);
        if (ini.contains(k) && ini.value(k).toString().trimmed().isEmpty())
            return badValue(path, k, QStringLiteral("must be a path, not empty"));
    }
    KL_TRY(applyHsm(config, ini, path));
    KL_TRY(applyBackend(config, ini, path));
    KL_TRY(applyMetrics(config, ini, path));
    config.sourceFile = path;
    return success();
}

// Defaults that follow other settings: paths under data_dir, key URIs on the configured token.
void fillDerived(StationConfig& c) {
    if (c.siliconVendorRoot.isEmpty())
        c.siliconVendorRoot =
            QDir(c.dataDir).filePath(QStringLiteral("trust/silicon-vendor-root.pem"));
    if (c.databasePath.isEmpty())
        c.databasePath = QDir(c.dataDir).filePath(QStringLiteral("keyline.db"));
    if (c.backend.caFile.isEmpty())
        c.backend.caFile = QDir(c.dataDir).filePath(QStringLiteral("export/device-root-ca.pem"));
    if (c.softhsmConf.isEmpty())
        c.softhsmConf = QDir(c.dataDir).filePath(QStringLiteral("softhsm/softhsm2.conf"));
    for (auto [uri, label, type] :
         {std::tuple{&c.issuingCaKey, hsm::labels::issuingCa, "private"},
          std::tuple{&c.keystoreSigningKey, hsm::labels::keystoreSigning, "private"},
          std::tuple{&c.imageKey, hsm::labels::imageKey, "secret"},
          std::tuple{&c.auditKey, hsm::labels::auditSigning, "private"},
          std::tuple{&c.backend.clientKey, hsm::labels::stationTls, "private"}}) {
        if (uri->object.isEmpty()) {
            uri->token = c.hsmToken;
            uri->object = label;
            uri->type = QLatin1String(type);
        }
    }
}

StationConfig rawDefaults() {
    StationConfig c;
    c.stationName = QSysInfo::machineHostName();
    c.dataDir = QDir(xdgDir("XDG_DATA_HOME", QStringLiteral(".local/share")))
                    .filePath(QStringLiteral("keyline"));
    c.transports = {QStringLiteral("sim"), QStringLiteral("usb")};
    c.socketDir = flashing::defaultSimSocketDir();
    return c;
}

} // namespace

StationConfig defaultConfig() {
    StationConfig c = rawDefaults();
    fillDerived(c);
    return c;
}

QStringList configSearchPath() {
    QStringList paths;
    QByteArray env = qgetenv("KEYLINE_CONFIG");
    if (!env.isEmpty())
        paths.append(QString::fromLocal8Bit(env));
    paths.append(QDir(xdgDir("XDG_CONFIG_HOME", QStringLiteral(".config")))
                     .filePath(QStringLiteral("keyline/keyline.conf")));
    paths.append(QStringLiteral("/etc/keyline/keyline.conf"));
    return paths;
}

Result<StationConfig> loadConfig(const QString& explicitPath) {
    StationConfig config = rawDefaults();
    // A file named by --config or $KEYLINE_CONFIG must exist: never fall back from it to the
    // user's or /etc's file.
    QString path = explicitPath;
    if (path.isEmpty())
        path = QString::fromLocal8Bit(qgetenv("KEYLINE_CONFIG"));
    if (path.isEmpty()) {
        for (const QString& candidate : configSearchPath()) {
            if (QFileInfo::exists(candidate)) {
                path = candidate;
                break;
            }
        }
    }
    if (path.isEmpty()) {
        fillDerived(config);
        return config;
    }
    if (!QFileInfo(path).isFile())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("configuration file %1 does not exist; create it or drop "
                                    "--config / KEYLINE_CONFIG to use the defaults")
                         .arg(path));
    // QSettings reads a file whole: a huge one (a wrong --config) is refused before that.
    if (const qint64 size = QFileInfo(path).size(); size > kMaxConfigBytes)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("configuration file %1 is %2 bytes, more than the %3 a "
                                    "keyline.conf can be; is it the right file?")
                         .arg(path)
                         .arg(size)
                         .arg(kMaxConfigBytes));
    KL_TRY(applyFile(config, path));
    fillDerived(config);
    return config;
}

} // namespace keyline::station
