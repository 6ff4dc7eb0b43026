#pragma once

// The certificate chain an audit export's signature carries, shared by `keyline audit export`
// and the GUI's export.

#include "common/result.h"
#include "hsm/pkcs11_hsm.h"

#include <QByteArray>
#include <QString>

namespace keyline::station {

// The audit certificate from the HSM, then the device root that issued it when this station
// has a copy at `rootPath`: the auditor's tools then find the whole chain in the signature.
Result<QByteArray> auditChainPem(hsm::Pkcs11Hsm& hsm, const hsm::KeyUri& auditKey,
                                 const QString& rootPath);

} // namespace keyline::station
