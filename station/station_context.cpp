#include "station/station_context.h"

#include "db/database_url.h"
#include "flashing/device_client.h"
#include "flashing/socket_transport.h"
#include "station/pin_prompt.h"
#include "station/port_providers.h"

#include <QDir>
#include <QFileInfo>

namespace keyline::station {

StationContext::StationContext(StationConfig config)
    : m_config(std::move(config)) {}

const std::vector<std::unique_ptr<flashing::PortProvider>>& StationContext::portProviders() {
    if (!m_providersMade) {
        m_providers = makePortProviders(m_config);
        m_providersMade = true;
    }
    return m_providers;
}

QList<flashing::PortInfo> StationContext::scanPorts(QStringList* problems) {
    QList<flashing::PortInfo> ports;
    for (const auto& provider : portProviders()) {
        auto found = provider->scan();
        if (found)
            ports += *found;
        else if (problems)
            problems->append(found.error().toString());
    }
    return ports;
}

Result<std::unique_ptr<flashing::Transport>>
StationContext::openPort(const flashing::PortInfo& port) {
    for (const auto& provider : portProviders())
        if (provider->kind() == port.kind)
            return provider->open(port);
    return Error(
        ErrorCode::NotFound,
        QStringLiteral("no %1 transport is configured ([devices] transports)").arg(port.kind));
}

flashing::DeviceTimeouts StationContext::deviceTimeouts() const {
    flashing::DeviceTimeouts t;
    t.command = Millis(m_config.commandTimeoutMs);
    return t;
}

Result<provisioning::ChipAuthenticator> StationContext::chipAuthenticator() const {
    return provisioning::ChipAuthenticator::fromRootFile(m_config.siliconVendorRoot);
}

bool StationContext::usesSoftHsm() const {
    return QFileInfo(m_config.hsmModule)
        .fileName()
        .contains(QLatin1String("softhsm"), Qt::CaseInsensitive);
}

bool StationContext::usesDevToken() const {
    return usesSoftHsm() && m_config.hsmToken == QLatin1String("keyline-dev");
}

QString StationContext::exportDir() const {
    return QDir(m_config.dataDir).filePath(QStringLiteral("export"));
}

hsm::HsmConfig StationContext::hsmConfig() const {
    hsm::HsmConfig c;
    c.modulePath = m_config.hsmModule;
    c.tokenLabel = m_config.hsmToken;
    c.maxSessions = m_config.hsmMaxSessions;
    // SOFTHSM2_CONF only for SoftHSM2: other modules ignore it, and a stale value must not be
    // left pointing somewhere else.
    if (usesSoftHsm())
        c.softhsmConfig = m_config.softhsmConf;
    c.pin.configured = m_config.hsmPin;
    c.pin.environmentVariable = QStringLiteral("KEYLINE_HSM_PIN");
    const bool devToken = usesDevToken();
    c.pin.prompt = [devToken](const QString& tokenLabel) -> Result<QByteArray> {
        if (devToken)
            return kDevTokenDefaultPin;
        return promptForPin(tokenLabel);
    };
    return c;
}

Result<std::unique_ptr<hsm::Pkcs11Hsm>> StationContext::openHsm() const {
    if (usesSoftHsm() && !QFileInfo::exists(m_config.softhsmConf))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("SoftHSM2 configuration %1 does not exist: for development "
                                    "run 'keyline hsm init-dev', otherwise set [hsm] "
                                    "softhsm2_conf")
                         .arg(m_config.softhsmConf));
    return hsm::Pkcs11Hsm::open(hsmConfig());
}

QString StationContext::orderDir(const QString& orderId) const {
    return QDir(m_config.dataDir).filePath(QStringLiteral("orders/") + orderId);
}

Result<db::DatabaseOptions> StationContext::databaseOptions() const {
    if (!m_config.databaseUrl.isEmpty())
        return db::databaseOptionsFromUrl(m_config.databaseUrl);
    db::DatabaseOptions o;
    o.driver = QStringLiteral("QSQLITE");
    o.name = m_config.databasePath;
    return o;
}

Result<std::unique_ptr<db::Database>> StationContext::openDatabase() const {
    KL_TRY_ASSIGN(const db::DatabaseOptions options, databaseOptions());
    return db::Database::open(options);
}

} // namespace keyline::station
