#pragma once

#include "flashing/transport.h"
#include "station/config.h"

#include <memory>
#include <vector>

namespace keyline::station {

// One provider per transport named in [devices] transports.
std::vector<std::unique_ptr<flashing::PortProvider>> makePortProviders(const StationConfig& config);

} // namespace keyline::station
