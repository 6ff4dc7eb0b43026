#pragma once

// `keyline hsm init-dev`: a SoftHSM2 token under the data directory holding the whole
// development key and CA set. Idempotent: what exists is kept, what is missing is created.

#include "hsm/pkcs11_hsm.h"

namespace keyline::hsm {

struct DevTokenOptions {
    QString dataDir; // $XDG_DATA_HOME/keyline by default; the token lives in <dataDir>/softhsm
    QString modulePath = QStringLiteral("/usr/lib/softhsm/libsofthsm2.so");
    QString tokenLabel = QStringLiteral("keyline-dev");
    QByteArray userPin; // required
    QByteArray soPin;   // empty: a random one, not kept (a lost dev token is simply re-created)
    int caValidityDays = 3650;
    // CN of the station's TLS client certificate (OU=station): [station] name. Empty: the
    // host name, which is [station] name's default.
    QString stationName;
};

struct InitDevReport {
    QString softhsmConfig; // the SOFTHSM2_CONF to use with this token
    QString exportDir;     // public artefacts (CA certificates, keystore signing key) as PEM
    bool tokenCreated = false;
    QStringList created; // labels of keys/certificates created now
    QStringList present; // labels already there
};

// Writes <dataDir>/softhsm/softhsm2.conf (token directory <dataDir>/softhsm/tokens) unless it
// exists, and returns its path. Set it as SOFTHSM2_CONF (HsmConfig::softhsmConfig) before the
// module is first initialised in the process.
Result<QString> writeSoftHsmConfig(const QString& dataDir);

// Initialises a token with `label` on the module's free slot unless one exists. The module must
// not be in use by anything else in the process (it is loaded, used and finalised here).
Result<bool> ensureToken(const QString& modulePath, const QString& label, const QByteArray& soPin,
                         const QByteArray& userPin);

// Creates what is missing of keyInventory() on an open HSM, CA certificates included.
// `stationName` is the CN of the station TLS certificate (empty: the host name).
Result<void> ensureDevKeys(Pkcs11Hsm& hsm, int caValidityDays, InitDevReport& report);
Result<void> ensureDevKeys(Pkcs11Hsm& hsm, int caValidityDays, const QString& stationName,
                           InitDevReport& report);

// All of it: config, token, keys, certificates, and PEM exports in <dataDir>/export, including
// the development registry server certificate and key (hsm/dev_tls_certs.h).
Result<InitDevReport> initDevToken(const DevTokenOptions& options);

} // namespace keyline::hsm
