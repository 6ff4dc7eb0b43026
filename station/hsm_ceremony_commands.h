#pragma once

// `keyline hsm ceremony transport-key` and `import-image-key`: the image-key steps of the
// production ceremony (hsm/ceremony_image_key.h). Options are parsed by hsm_commands.cpp.

#include "station/cli.h"
#include "station/station_context.h"

namespace keyline::station {

int ceremonyTransportKey(Cli& cli, StationContext& station, const QString& output);
int ceremonyImportImageKey(Cli& cli, StationContext& station, const QString& wrappedFile,
                           const QString& expectKcv, const QString& oaep);

} // namespace keyline::station
