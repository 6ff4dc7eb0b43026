#include "station/config.h"

#include "flashing/socket_transport.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QSysInfo>

namespace keyline::station {
namespace {

QString xdgDir(const char* variable, const QString& fallbackUnderHome) {
    QByteArray value = qgetenv(variable);
    if (!value.isEmpty())
        return QString::fromLocal8Bit(value);
    return QDir::home().filePath(fallbackUnderHome);
}

Error badValue(const QString& file, const QString& key, const QString& why) {
    return Error(ErrorCode::BadInput, QStringLiteral("%1: [%2] %3").arg(file, key, why));
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
    for (QString* dir : {&config.dataDir, &config.socketDir, &config.siliconVendorRoot})
        if (dir->isEmpty())
            return badValue(path, QStringLiteral("paths"),
                            QStringLiteral("a path setting is empty"));
    config.sourceFile = path;
    return success();
}

} // namespace

StationConfig defaultConfig() {
    StationConfig c;
    c.stationName = QSysInfo::machineHostName();
    c.dataDir = QDir(xdgDir("XDG_DATA_HOME", QStringLiteral(".local/share")))
                    .filePath(QStringLiteral("keyline"));
    c.transports = {QStringLiteral("sim"), QStringLiteral("usb")};
    c.socketDir = flashing::defaultSimSocketDir();
    c.siliconVendorRoot = QDir(c.dataDir).filePath(QStringLiteral("trust/silicon-vendor-root.pem"));
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
    StationConfig config = defaultConfig();
    QString path = explicitPath;
    bool mustExist = !path.isEmpty() || !qEnvironmentVariableIsEmpty("KEYLINE_CONFIG");
    if (path.isEmpty()) {
        for (const QString& candidate : configSearchPath()) {
            if (QFileInfo::exists(candidate)) {
                path = candidate;
                break;
            }
        }
        if (path.isEmpty() && mustExist)
            path = configSearchPath().constFirst();
    }
    if (path.isEmpty())
        return config;
    if (!QFileInfo(path).isFile())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("configuration file %1 does not exist; create it or drop "
                                    "--config / KEYLINE_CONFIG to use the defaults")
                         .arg(path));
    KL_TRY(applyFile(config, path));
    return config;
}

} // namespace keyline::station
