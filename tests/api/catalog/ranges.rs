//! Aligned ranges: which blocks a range request takes, sealed thousands, and concurrent
//! single and block requests.

use super::*;

#[tokio::test]
async fn a_fragmented_block_is_skipped_and_a_whole_aligned_block_is_chosen() {
    let w = world().await;
    allow_ranges(&w.app, &[5, 10, 100]).await;

    // Block 30..39 is whole in stock, but one of its numbers gets assigned.
    import_ams(&w.app, 30, 10).await;
    let single = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(single["status"], "Completed");
    let taken = assigned_numbers(&single);
    assert_eq!(taken.len(), 1);
    assert!((NL0 + 30..NL0 + 40).contains(&taken[0]));

    // Block 00..09 lacks 05 (never imported).
    import_ams(&w.app, 0, 5).await;
    import_ams(&w.app, 6, 4).await;
    // 13..29: block 10..19 is partial, block 20..29 is whole and aligned.
    import_ams(&w.app, 13, 17).await;
    // Block 40..49 is all area 20 but two cities: not one block.
    import_nl(&w.app, NL0 + 40, 5, "20", Some("Amsterdam")).await;
    import_nl(&w.app, NL0 + 45, 5, "20", Some("Haarlem")).await;

    let (blocks, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=10").await;
    assert_eq!(blocks, 1, "only 20..29 is a free aligned block");
    assert!(ok);

    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    let r = &req["ranges"][0];
    assert_eq!(r["start"], e164(NL0 + 20));
    assert_eq!(r["end"], e164(NL0 + 29));
    assert_eq!(r["size"], 10);
    assert_time(&r["validFrom"]);
    assert!(r["validTo"].is_null());

    // The assigned numbers show in the account's list with the request id.
    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total, 11);
    let of_req: BTreeSet<u64> = numbers
        .iter()
        .filter(|n| n["numberRequestId"] == req["id"])
        .map(|n| num(&n["phoneNumber"]))
        .collect();
    assert_eq!(of_req, (NL0 + 20..NL0 + 30).collect());

    // No whole block is left: the next one waits.
    let next = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 10))
        .await;
    assert_eq!(next["status"], "Pending", "{next}");
    assert_unassigned(&next, 10);
    let (blocks, ok) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=10").await;
    assert_eq!((blocks, ok), (0, false));
}

#[tokio::test]
async fn odd_range_sizes_take_aligned_blocks_too() {
    let w = world().await;
    allow_ranges(&w.app, &[5, 10, 50]).await;
    // 03..14: blocks of 5 at 05 and 10 are whole; 00..04 is not.
    import_ams(&w.app, 3, 12).await;
    let (blocks, _) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=5").await;
    assert_eq!(blocks, 2);
    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 2, 5))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_eq!(
        range_bounds(&req),
        vec![(NL0 + 5, NL0 + 9), (NL0 + 10, NL0 + 14)]
    );
    assert_eq!(assigned_numbers(&req).len(), 10);

    // 125..224: the only whole aligned block of 50 is 150..199.
    import_ams(&w.app, 125, 100).await;
    let (blocks, _) = avail(&w, "phoneNumberType=LOCAL&areaCode=20&rangeSize=50").await;
    assert_eq!(blocks, 1);
    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 50))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    assert_eq!(range_bounds(&req), vec![(NL0 + 150, NL0 + 199)]);
    let pending = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 1, 50))
        .await;
    assert_eq!(pending["status"], "Pending");
}

#[tokio::test]
async fn a_pending_range_request_completes_when_the_missing_number_is_imported() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100]).await;
    // 00..09 without 07, and 10..18 (19 missing).
    import_ams(&w.app, 0, 7).await;
    import_ams(&w.app, 8, 11).await;

    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 2, 10))
        .await;
    assert_eq!(req["status"], "Pending", "{req}");
    assert_unassigned(&req, 10);
    let id = s(&req["id"]);

    // One missing number is not enough: all or nothing.
    import_ams(&w.app, 7, 1).await;
    let still = w.app.get_request(&w.acct, &id).await;
    assert_eq!(still["status"], "Pending", "{still}");
    assert_unassigned(&still, 10);
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 0);

    import_ams(&w.app, 19, 1).await;
    let done = wait_for_status(&w, &id, "Completed", 5).await;
    assert_eq!(done["status"], "Completed", "{done}");
    assert_eq!(
        range_bounds(&done),
        vec![(NL0, NL0 + 9), (NL0 + 10, NL0 + 19)]
    );
    assert_eq!(w.app.all_phone_numbers(&w.acct).await.1, 20);
    let trail = event_trail(&w, &id).await;
    assert_eq!(statuses(&trail), vec!["Pending", "Completed"]);
}

#[tokio::test]
async fn three_blocks_of_100_from_a_large_stock_are_aligned_and_disjoint() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100, 1000]).await;
    // 50,000 numbers from an unaligned start; then break a few blocks with single requests.
    let added = import_ams(&w.app, 50, 50_000).await;
    assert_eq!(added["added"], 50_000);
    let singles = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 5))
        .await;
    assert_eq!(singles["status"], "Completed");
    let single_nums: BTreeSet<u64> = assigned_numbers(&singles).into_iter().collect();

    let req = w
        .app
        .create_request(&w.acct, &block_body(&w.profile, 3, 100))
        .await;
    assert_eq!(req["status"], "Completed", "{req}");
    let bounds = range_bounds(&req);
    assert_eq!(bounds.len(), 3);
    let mut all = BTreeSet::new();
    for (start, end) in &bounds {
        assert_eq!(start % 100, 0, "block {start} is not aligned");
        assert_eq!(end - start, 99);
        assert!(
            *start >= NL0 + 50 && *end < NL0 + 50 + 50_000,
            "outside stock"
        );
        for n in *start..=*end {
            assert!(all.insert(n), "number {n} in two blocks");
            assert!(!single_nums.contains(&n), "number {n} was already assigned");
        }
    }
    assert_eq!(all.len(), 300);
    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total, 305);
    let listed: BTreeSet<u64> = numbers
        .iter()
        .filter(|n| n["numberRequestId"] == req["id"])
        .map(|n| num(&n["phoneNumber"]))
        .collect();
    assert_eq!(listed, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_single_and_block_requests_from_24_tasks_never_share_a_number() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100]).await;
    import_ams(&w.app, 0, 300).await;
    let app = std::sync::Arc::new(w);

    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let w = app.clone();
        tasks.push(tokio::spawn(async move {
            let body = if i % 2 == 0 {
                request_body(&w.profile, 6 + i % 5)
            } else {
                block_body(&w.profile, 2 + i % 3, 10)
            };
            let res = w.app.post_request(&w.acct, &body).await;
            expect_json(res, StatusCode::CREATED).await
        }));
        if i == 12 {
            // An import racing the creates: its fulfilment competes with them.
            let w = app.clone();
            tasks.push(tokio::spawn(async move {
                let added = import_ams(&w.app, 300, 20).await;
                assert_eq!(added["added"], 20);
                Value::Null
            }));
        }
    }
    let mut created = Vec::new();
    for t in tasks {
        let v = t.await.expect("task panicked");
        if !v.is_null() {
            created.push(v);
        }
    }
    assert_eq!(created.len(), 24);
    let w = &*app;

    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut check = |req: &Value| {
        let id = s(&req["id"]);
        if req["status"] == "Completed" {
            let size = req["rangeSize"].as_u64().unwrap_or(1);
            let nums = assigned_numbers(req);
            assert_eq!(
                nums.len() as u64,
                req["quantity"].as_u64().unwrap() * size,
                "all or nothing: {req}"
            );
            for n in nums {
                if let Some(prev) = seen.insert(n, id.clone()) {
                    assert_eq!(prev, id, "number {n} assigned to {prev} and {id}");
                }
            }
        } else {
            assert_eq!(req["status"], "Pending", "{req}");
            assert_unassigned(req, req["rangeSize"].as_u64().unwrap_or(1));
        }
    };
    for req in &created {
        check(req);
    }
    // Later reads (the import may have completed some Pending ones).
    let mut completed_total = 0u64;
    for req in &created {
        let now = w.app.get_request(&w.acct, &s(&req["id"])).await;
        if req["status"] == "Completed" {
            assert_eq!(range_bounds(&now), range_bounds(req), "assignment changed");
        }
        check(&now);
        if now["status"] == "Completed" {
            completed_total +=
                now["quantity"].as_u64().unwrap() * now["rangeSize"].as_u64().unwrap_or(1);
        }
    }
    assert_eq!(
        seen.len() as u64,
        completed_total,
        "a number in two requests"
    );
    assert!(completed_total > 0);
    assert!(seen.keys().all(|n| (NL0..NL0 + 320).contains(n)));

    let (numbers, total) = w.app.all_phone_numbers(&w.acct).await;
    assert_eq!(total as u64, completed_total);
    let listed: BTreeSet<u64> = numbers.iter().map(|n| num(&n["phoneNumber"])).collect();
    assert_eq!(listed.len(), numbers.len(), "a number listed twice");
    assert_eq!(listed, seen.keys().copied().collect());
    let c = w.app.stock_counts("NL", "LOCAL", "20").await;
    assert_eq!(c.assigned as u64, completed_total);
    assert_eq!(c.available as u64, 320 - completed_total);
}

/// A fresh import of aligned thousands seals them (BENCHMARKS.md, issue 3): single numbers,
/// small blocks and odd sizes still come from them in number order, and every count stays
/// exact as they are opened one by one.
#[tokio::test]
async fn stock_imported_in_whole_thousands_serves_every_kind_of_request_with_exact_counts() {
    let w = world().await;
    allow_ranges(&w.app, &[10, 100, 250, 1000]).await;
    import_ams(&w.app, 0, 3000).await;
    let q = |extra: &str| format!("phoneNumberType=LOCAL&areaCode=20{extra}");
    let counts = async |w: &World| {
        let mut out = Vec::new();
        for extra in [
            "",
            "&city=Amsterdam",
            "&rangeSize=10",
            "&rangeSize=100",
            "&rangeSize=250",
            "&rangeSize=1000",
        ] {
            out.push(avail(w, &q(extra)).await.0);
        }
        let res = customer_get(w, "/localeoptions?countryCode=NL&phoneNumberType=LOCAL").await;
        let opts = locale_set(&expect_json(res, StatusCode::OK).await);
        out.push(opts.iter().map(|o| o.3).sum());
        out
    };
    let completed = async |w: &World, body: Value| {
        let req = w.app.create_request(&w.acct, &body).await;
        assert_eq!(req["status"], "Completed", "{req}");
        req
    };
    assert_eq!(counts(&w).await, vec![3000, 3000, 300, 30, 12, 3, 3000]);

    // Five single numbers: the lowest.
    let req = completed(&w, request_body(&w.profile, 5)).await;
    let got: Vec<u64> = assigned_numbers(&req).into_iter().collect();
    assert_eq!(got, (NL0..NL0 + 5).collect::<Vec<_>>());
    // Block 0..999 is no longer whole; its blocks of 10 but the first are.
    assert_eq!(counts(&w).await, vec![2995, 2995, 299, 29, 11, 2, 2995]);

    // A block of 1,000: the lowest whole one.
    let req = completed(&w, block_body(&w.profile, 1, 1000)).await;
    assert_eq!(range_bounds(&req), vec![(NL0 + 1000, NL0 + 1999)]);
    assert_eq!(counts(&w).await, vec![1995, 1995, 199, 19, 7, 1, 1995]);

    // Four blocks of 250 (a size not tracked): three from 0..999, one from 2000..2999, whose
    // other numbers stay available as singles and blocks.
    let req = completed(&w, block_body(&w.profile, 4, 250)).await;
    assert_eq!(
        range_bounds(&req),
        vec![
            (NL0 + 250, NL0 + 499),
            (NL0 + 500, NL0 + 749),
            (NL0 + 750, NL0 + 999),
            (NL0 + 2000, NL0 + 2249)
        ]
    );
    assert_eq!(counts(&w).await, vec![995, 995, 99, 8, 3, 0, 995]);

    // Blocks of 100 and single numbers take what is left, in order, down to nothing.
    let req = completed(&w, block_body(&w.profile, 8, 100)).await;
    let mut want = vec![(NL0 + 100, NL0 + 199)];
    want.extend((23..30).map(|h| (NL0 + h * 100, NL0 + h * 100 + 99)));
    assert_eq!(range_bounds(&req), want);
    let req = completed(&w, request_body(&w.profile, 95)).await;
    assert_eq!(
        assigned_numbers(&req),
        (NL0 + 5..NL0 + 100).collect::<Vec<_>>()
    );
    assert_eq!(counts(&w).await, vec![100, 100, 10, 0, 0, 0, 100]);
    let req = completed(&w, request_body(&w.profile, 100)).await;
    let mut want: Vec<u64> = (NL0 + 200..NL0 + 250).collect();
    want.extend(NL0 + 2250..NL0 + 2300);
    let mut got = assigned_numbers(&req);
    got.sort();
    assert_eq!(got, want);
    let req = w
        .app
        .create_request(&w.acct, &request_body(&w.profile, 1))
        .await;
    assert_eq!(req["status"], "Pending", "{req}");
    assert_eq!(counts(&w).await, vec![0, 0, 0, 0, 0, 0, 0]);
}
