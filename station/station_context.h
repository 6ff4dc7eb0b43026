#pragma once

#include "flashing/device_client.h"
#include "flashing/transport.h"
#include "provisioning/chip_authenticator.h"
#include "station/config.h"

#include <memory>
#include <vector>

namespace keyline::station {

// The composition root: turns the configuration into the real parts (port providers, trust
// anchors) and hands them to whoever runs a command. Nothing below it reads configuration.
class StationContext {
public:
    explicit StationContext(StationConfig config);

    const StationConfig& config() const { return m_config; }

    // Port providers for the configured transports, created on first use.
    const std::vector<std::unique_ptr<flashing::PortProvider>>& portProviders();
    // Every port with a device, across transports. Providers that are not ready (no socket
    // directory, no USB access) are reported in `problems`, not as a failure of the whole scan.
    QList<flashing::PortInfo> scanPorts(QStringList* problems = nullptr);
    Result<std::unique_ptr<flashing::Transport>> openPort(const flashing::PortInfo& port);
    flashing::DeviceTimeouts deviceTimeouts() const;

    Result<provisioning::ChipAuthenticator> chipAuthenticator() const;

private:
    StationConfig m_config;
    std::vector<std::unique_ptr<flashing::PortProvider>> m_providers;
    bool m_providersMade = false;
};

} // namespace keyline::station
