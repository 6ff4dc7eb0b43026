#pragma once

// The PIN for a new or changed operator account: $KEYLINE_NEW_OPERATOR_PIN, else asked twice
// on the terminal (a typo would otherwise lock the operator out). Checked against the PIN
// rules before any database work; never printed.

#include "common/result.h"

#include <QString>

namespace keyline::station {

// InvalidArgument when the PIN breaks the rules or the two answers differ;
// EnvironmentNotReady when there is neither the variable nor a terminal.
Result<QString> newOperatorPin(const QString& name);

} // namespace keyline::station
