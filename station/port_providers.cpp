#include "station/port_providers.h"

#include "flashing/socket_transport.h"
#include "flashing/usb_transport.h"

namespace keyline::station {

std::vector<std::unique_ptr<flashing::PortProvider>>
makePortProviders(const StationConfig& config) {
    std::vector<std::unique_ptr<flashing::PortProvider>> providers;
    for (const QString& kind : config.transports) {
        if (kind == QLatin1String("sim"))
            providers.push_back(std::make_unique<flashing::SocketPortProvider>(config.socketDir));
        else if (kind == QLatin1String("usb"))
            providers.push_back(std::make_unique<flashing::UsbPortProvider>(
                flashing::UsbIds{config.usbVendorId, config.usbProductId}));
    }
    return providers;
}

} // namespace keyline::station
