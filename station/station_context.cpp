#include "station/station_context.h"

#include "flashing/device_client.h"
#include "flashing/socket_transport.h"
#include "station/port_providers.h"

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

} // namespace keyline::station
