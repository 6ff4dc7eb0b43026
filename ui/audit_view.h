#pragma once

// Audit (supervisor, engineer): export an order's audit log, signed by the station's audit key,
// and show exactly where the records and the signature were written.

#include "station/order_report.h"
#include "ui/station_admin.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;

namespace keyline::ui {

class AuditView : public QWidget {
    Q_OBJECT
public:
    explicit AuditView(QWidget* parent = nullptr);

    void setOrders(const std::vector<station::OrderSummary>& orders);
    void setFolder(const QString& dir);
    QString folder() const { return m_dir; }
    void setBusy(bool busy);
    void showResult(const AuditExportResult& result);
    void showError(const QString& text);
    QString resultText() const;

Q_SIGNALS:
    void exportRequested(const QString& orderId, const QString& dir);

private:
    QComboBox* m_order;
    QLabel* m_folder;
    QPushButton* m_choose;
    QPushButton* m_export;
    QLabel* m_result;
    QString m_dir;
};

} // namespace keyline::ui
