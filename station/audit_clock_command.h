#pragma once

#include "station/cli.h"

namespace keyline::station {

// Records, as a supervisor or engineer, that the station clock was set back behind the newest
// audit entry; exit 2 when it is not behind.
int runClockSetBack(Cli& cli, const QString& operatorName);

} // namespace keyline::station
