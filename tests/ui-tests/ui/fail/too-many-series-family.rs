use instrument_metric::{IntCounterFamily, LabelValue, Metrics};

macro_rules! twenty {
    ($name:ident) => {
        #[derive(Clone, Copy, LabelValue)]
        enum $name {
            V0, V1, V2, V3, V4, V5, V6, V7, V8, V9,
            V10, V11, V12, V13, V14, V15, V16, V17, V18, V19,
        }
    };
}

twenty!(Region);
twenty!(Tenant);
twenty!(Plan);
twenty!(Client);
twenty!(Route);

#[derive(Metrics)]
#[metrics(prefix = "api")]
struct ApiMetrics {
    /// Requests, by everything (3,200,000 series).
    requests_total: IntCounterFamily<(Region, Tenant, Plan, Client, Route)>,
    /// Requests by region and tenant: 400 series, under the cap.
    by_tenant_total: IntCounterFamily<(Region, Tenant)>,
    /// 160,000 series with the cap raised too little.
    #[metric(max_series = 50_000)]
    by_plan_total: IntCounterFamily<(Region, Tenant, Plan, Client)>,
}

fn main() {}
