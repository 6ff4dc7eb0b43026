#include "ui/audit_view.h"

#include "ui/station_style.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace keyline::ui {

AuditView::AuditView(QWidget* parent)
    : QWidget(parent)
    , m_order(new QComboBox(this))
    , m_folder(new QLabel(this))
    , m_choose(new QPushButton(tr("Choose folder…"), this))
    , m_export(new QPushButton(tr("Export audit log"), this))
    , m_result(new QLabel(this)) {
    setObjectName(QStringLiteral("auditView"));
    auto* title = new QLabel(tr("Export an order's audit log"), this);
    setStyleRole(title, QStringLiteral("title"));
    auto* hint = new QLabel(tr("The export is signed by the station's audit key. Give both files "
                               "to the auditor."),
                            this);
    hint->setWordWrap(true);
    setStyleRole(hint, QStringLiteral("subtitle"));
    m_order->setObjectName(QStringLiteral("auditOrder"));
    m_order->setMinimumWidth(420);
    m_folder->setObjectName(QStringLiteral("auditFolder"));
    m_folder->setWordWrap(true);
    m_folder->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_export->setObjectName(QStringLiteral("exportButton"));
    setStyleRole(m_export, QStringLiteral("primary"));
    m_export->setMinimumHeight(72);
    m_result->setObjectName(QStringLiteral("auditResult"));
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_result->setMinimumHeight(120);
    m_result->setAlignment(Qt::AlignTop | Qt::AlignLeft);

    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(m_choose);
    auto* form = new QFormLayout;
    form->setLabelAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    form->setVerticalSpacing(16);
    form->addRow(tr("Order"), m_order);
    form->addRow(tr("Folder"), folderRow);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(24, 16, 24, 16);
    layout->setSpacing(16);
    layout->addWidget(title);
    layout->addWidget(hint);
    layout->addLayout(form);
    layout->addWidget(m_export, 0, Qt::AlignLeft);
    layout->addWidget(m_result);
    layout->addStretch(1);

    connect(m_choose, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export to"), m_dir);
        if (!dir.isEmpty())
            setFolder(dir);
    });
    connect(m_export, &QPushButton::clicked, this, [this] {
        if (m_order->currentIndex() >= 0)
            Q_EMIT exportRequested(m_order->currentData().toString(), m_dir);
    });
}

void AuditView::setOrders(const std::vector<station::OrderSummary>& orders) {
    const QString keep = m_order->currentData().toString();
    m_order->clear();
    for (const station::OrderSummary& s : orders)
        m_order->addItem(QStringLiteral("%1 · %2").arg(s.order.id, s.order.customerId), s.order.id);
    const int i = m_order->findData(keep);
    if (i >= 0)
        m_order->setCurrentIndex(i);
    m_export->setEnabled(m_order->count() > 0);
}

void AuditView::setFolder(const QString& dir) {
    m_dir = dir;
    m_folder->setText(dir);
}

void AuditView::setBusy(bool busy) {
    m_export->setEnabled(!busy && m_order->count() > 0);
    m_export->setText(busy ? tr("Exporting…") : tr("Export audit log"));
}

void AuditView::showResult(const AuditExportResult& r) {
    m_result->setStyleSheet(QStringLiteral("color: #0b6e2a; font-weight: 600;"));
    m_result->setText(tr("Exported %1 records.\nRecords:   %2\nSignature: %3")
                          .arg(r.records)
                          .arg(r.recordsPath, r.signaturePath));
}

void AuditView::showError(const QString& text) {
    m_result->setStyleSheet(QStringLiteral("color: #b00020; font-weight: 600;"));
    m_result->setText(tr("Not exported: %1").arg(text));
}

QString AuditView::resultText() const {
    return m_result->text();
}

} // namespace keyline::ui
