#pragma once

// The PKCS#11 types, from the header pkcs11-helper ships (scute/GnuPG style: self-contained,
// CRYPTOKI_COMPAT names). Everything in hsm/ that touches the module includes this one header,
// never p11-kit's pkcs11.h: the two define the same names and cannot meet in one file.

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <pkcs11-helper-1.0/pkcs11.h>
#include <vector>

namespace keyline::hsm {

// "CKR_PIN_INCORRECT" etc.: names, never values, reach error messages.
QString ckrName(CK_RV rv);

// An Error for a failed PKCS#11 call: `what` is the action ("C_Sign with 'x'"), the code decides
// the kind (session or device trouble: environment; refused operation: internal).
Error p11Error(const QString& what, CK_RV rv);

// Attribute template builder: owns the values so a CK_ATTRIBUTE array never points at temporaries.
class Template {
public:
    Template& add(CK_ATTRIBUTE_TYPE type, bool value);
    Template& add(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
    Template& add(CK_ATTRIBUTE_TYPE type, const QByteArray& value);
    Template& addText(CK_ATTRIBUTE_TYPE type, const QString& value);

    CK_ATTRIBUTE* data();
    CK_ULONG size() const { return CK_ULONG(m_types.size()); }

private:
    std::vector<CK_ATTRIBUTE_TYPE> m_types;
    std::vector<QByteArray> m_values;
    std::vector<CK_ATTRIBUTE> m_attrs;
};

// Fixed-width, space-padded PKCS#11 text (token labels, serials) to a trimmed QString.
QString paddedText(const unsigned char* text, std::size_t size);

// DER OID of P-256 as CKA_EC_PARAMS wants it.
QByteArray p256Params();

} // namespace keyline::hsm
