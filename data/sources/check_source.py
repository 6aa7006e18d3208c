import json, sys, re
INTENTS = """place_order cancel_order change_order track_order check_cancellation_fee delivery_options delivery_period delivery_problem change_shipping_address set_up_shipping_address return_product check_refund_policy get_refund track_refund check_payment_methods payment_issue check_invoice get_invoice create_account delete_account edit_account recover_password registration_problems switch_account contact_customer_service contact_human_agent complaint review newsletter_subscription search_product product_info promotions chit_chat out_of_scope""".split()
MIN_SLOTS = {"product": (40, 15), "category": (15, 6), "brand": (15, 6), "color": (8, 4), "size": (8, 4), "city": (15, 6), "date": (12, 5), "carrier": (5, 3), "payment": (6, 3)}
FILLERS = ["polite_prefix", "polite_suffix", "rude_prefix", "rude_suffix", "greeting", "ramble"]
GEN = {"order_id", "amount", "email"}
d = json.load(open(sys.argv[1]))
errs = []
for i in INTENTS:
    t = d["intents"].get(i)
    if not t: errs.append(f"missing intent {i}"); continue
    if len(set(t["train"])) < 14: errs.append(f"{i}: {len(set(t['train']))} distinct train templates < 14")
    if len(set(t["test"])) < 6: errs.append(f"{i}: {len(set(t['test']))} distinct test templates < 6")
    norm = lambda s: re.sub(r"\W+", " ", s.lower()).strip()
    overlap = {norm(x) for x in t["train"]} & {norm(x) for x in t["test"]}
    if overlap: errs.append(f"{i}: test templates also in train: {sorted(overlap)[:3]}")
    for tpl in t["train"] + t["test"]:
        for slot in re.findall(r"\{(\w+)\}", tpl):
            if slot not in MIN_SLOTS and slot not in GEN: errs.append(f"{i}: unknown slot {{{slot}}} in {tpl!r}")
extra = set(d["intents"]) - set(INTENTS)
if extra: errs.append(f"unknown intents {extra}")
for s, (a, b) in MIN_SLOTS.items():
    tr, te = d["slots"]["train"].get(s, []), d["slots"]["test"].get(s, [])
    if len(set(tr)) < a or len(set(te)) < b: errs.append(f"slot {s}: {len(set(tr))}/{len(set(te))} < {a}/{b}")
    if set(tr) & set(te): errs.append(f"slot {s}: train and test share {sorted(set(tr)&set(te))[:3]}")
for f in FILLERS:
    tr, te = d["fillers"]["train"].get(f, []), d["fillers"]["test"].get(f, [])
    if len(set(tr)) < 6 or len(set(te)) < 3: errs.append(f"filler {f}: {len(set(tr))}/{len(set(te))} < 6/3")
    if set(tr) & set(te): errs.append(f"filler {f}: train and test share values")
print("\n".join(errs) if errs else "OK")
sys.exit(1 if errs else 0)
