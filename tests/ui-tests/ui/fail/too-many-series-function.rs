use instrument_metric::{LabelValue, instrument_metric};

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

// 20 * 20 * 20 combinations, times 3 outcomes: 24,000 series.
#[instrument_metric(name = "api_call", labels(region = region, tenant = tenant, plan = plan))]
fn call(region: Region, tenant: Tenant, plan: Plan) -> usize {
    region.index() + tenant.index() + plan.index()
}

// Raised, but 0 is no cap.
#[instrument_metric(name = "api_list", labels(region = region), max_series = 0)]
fn list(region: Region) -> usize {
    region.index()
}

fn main() {
    call(Region::V0, Tenant::V0, Plan::V0);
    list(Region::V0);
}
