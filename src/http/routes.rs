//! All filters in one place: which method and path reach which handler.
//!
//! Every route is served at the root (as the seed lists them) and under `/api`
//! (the frontend's and orchestrators' base URL). `GET /user/list-users` comes
//! before `GET /user/{id}` so that it wins.

use std::convert::Infallible;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::body;
use super::error;
use super::handlers::{self, Svc};
use crate::domain::RatingKind;

fn with_svc(svc: Svc) -> impl Filter<Extract = (Svc,), Error = Infallible> + Clone {
    warp::any().map(move || svc.clone())
}

/// `/user/{id}` followed by `tail` path segments.
macro_rules! user_path {
    () => {
        warp::path("user")
            .and(warp::path::param::<String>())
            .and(warp::path::end())
    };
    ($tail:literal) => {
        warp::path("user")
            .and(warp::path::param::<String>())
            .and(warp::path($tail))
            .and(warp::path::end())
    };
}

/// The routes without the `/api` prefix.
fn routes(svc: Svc) -> BoxedFilter<(Response,)> {
    let s = || with_svc(svc.clone());
    let json = body::json;

    let health = warp::path!("health")
        .and(warp::get())
        .then(handlers::health);
    let ready = warp::path!("ready")
        .and(warp::get())
        .and(s())
        .then(handlers::ready);

    let list_users = warp::path!("user" / "list-users")
        .and(warp::get())
        .and(warp::query::<super::wire::ListQuery>())
        .and(s())
        .then(handlers::list_users);
    let temp = warp::path!("user" / "temp")
        .and(warp::post())
        .and(json())
        .and(s())
        .then(handlers::create_temp_user);
    let sync = warp::path!("user" / "sync-from-frontend")
        .and(warp::post())
        .and(json())
        .and(s())
        .then(handlers::sync_from_frontend);

    let get_user = user_path!()
        .and(warp::get())
        .and(warp::query::<super::wire::UserQuery>())
        .and(s())
        .then(handlers::get_user);

    let get_payment = user_path!("payment")
        .and(warp::get())
        .and(s())
        .then(handlers::get_payment);
    let put_payment = user_path!("payment")
        .and(warp::put())
        .and(json())
        .and(s())
        .then(handlers::put_payment);
    let delete_payment = user_path!("payment")
        .and(warp::delete())
        .and(s())
        .then(handlers::delete_payment);

    let get_connect = user_path!("connect-account")
        .and(warp::get())
        .and(s())
        .then(handlers::get_connect_account);
    let put_connect = user_path!("connect-account")
        .and(warp::put())
        .and(json())
        .and(s())
        .then(handlers::put_connect_account);

    let customer_rating = user_path!("update-customer-rating")
        .and(warp::post())
        .and(json())
        .and(s())
        .then(|id, body, svc| handlers::update_rating(RatingKind::Customer, id, body, svc));
    let runner_rating = user_path!("update-runner-rating")
        .and(warp::post())
        .and(json())
        .and(s())
        .then(|id, body, svc| handlers::update_rating(RatingKind::Runner, id, body, svc));

    let add_payment_method = user_path!("payment-methods")
        .and(warp::post())
        .and(json())
        .and(s())
        .then(handlers::add_payment_method)
        .recover(error::recover_with_description)
        .unify();
    let delete_payment_methods = user_path!("payment-methods")
        .and(warp::delete())
        .and(s())
        .then(handlers::delete_payment);

    health
        .or(ready)
        .unify()
        .or(list_users)
        .unify()
        .or(temp)
        .unify()
        .or(sync)
        .unify()
        .or(get_user)
        .unify()
        .boxed()
        .or(get_payment)
        .unify()
        .or(put_payment)
        .unify()
        .or(delete_payment)
        .unify()
        .or(get_connect)
        .unify()
        .or(put_connect)
        .unify()
        .boxed()
        .or(customer_rating)
        .unify()
        .or(runner_rating)
        .unify()
        .or(add_payment_method)
        .unify()
        .or(delete_payment_methods)
        .unify()
        .boxed()
}

/// The whole API: routes at the root and under `/api`, errors recovered into JSON.
pub fn api(svc: Svc) -> BoxedFilter<(Response,)> {
    let routes = routes(svc);
    warp::path("api")
        .and(routes.clone())
        .or(routes)
        .unify()
        .recover(error::recover)
        .unify()
        .boxed()
}
