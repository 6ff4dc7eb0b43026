#pragma once

// The common development public keys (DESIGN.md §1: development and production never mix).

#include "hsm/hsm.h"

#include <QList>

namespace keyline::station {

// The common development public keys the station knows: from the HSM when it holds them (the
// dev token) and from <data_dir>/export, where init-dev writes them and where a production
// station keeps copies so it can refuse them.
QList<QByteArray> knownDevelopmentKeys(hsm::Hsm* hsm, const QString& exportDir);

} // namespace keyline::station
