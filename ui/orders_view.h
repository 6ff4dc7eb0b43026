#pragma once

// Order: the open orders, one row each. Everyone picks an order and runs it; supervisors and
// engineers also see New order and Close order (an operator does not see them at all).

#include "station/order_report.h"

#include <QWidget>

class QLabel;
class QPushButton;
class QTableView;

namespace keyline::ui {

class OrderTableModel;

class OrdersView : public QWidget {
    Q_OBJECT
public:
    explicit OrdersView(QWidget* parent = nullptr);

    void setOrders(std::vector<station::OrderSummary> orders);
    void setCanAdminister(bool can);
    void setBusy(bool busy);
    void select(const QString& orderId);
    const station::OrderSummary* selected() const;
    void showMessage(const QString& text);

Q_SIGNALS:
    void runRequested(const keyline::db::Order& order);
    void createRequested();
    void closeRequested(const QString& orderId);
    void refreshRequested();

private:
    void updateButtons();

    OrderTableModel* m_model;
    QTableView* m_table;
    QPushButton* m_run;
    QPushButton* m_refresh;
    QPushButton* m_create;
    QPushButton* m_close;
    QLabel* m_message;
    QLabel* m_empty;
    bool m_busy = false;
};

} // namespace keyline::ui
