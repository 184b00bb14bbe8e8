/*-------------------------------------------------------------------------
 *
 * contact_list_fdw.c
 *		  Foreign data wrapper callbacks for WeCom's externalcontact/contact_list.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "clf_common.h"
#include "convert.h"
#include "http.h"
#include "option.h"
#include "redact.h"
#include "scan.h"
#include "tokens.h"
#include "wecom.h"
#include "scan_events.h"
#include "shared_state.h"
#include "stats.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_foreign_table.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "commands/vacuum.h"
#include "executor/execAsync.h"
#include "nodes/execnodes.h"
#include "storage/latch.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/plancat.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

/* Planner state, from GetForeignRelSize to GetForeignPlan. */
typedef struct ClfPlanState
{
	ClfOptions	opts;
	Bitmapset  *attrs_used;		/* attnums (1-based) the query needs */
	bool		all_columns;	/* a whole-row reference needs them all */
	double		limit_rows;		/* rows the query takes at most, or -1 */
} ClfPlanState;

/* Indexes into ForeignScan.fdw_private */
enum ClfPrivateIndex
{
	CLF_PRIVATE_LIMIT,			/* Integer: pushed-down row limit, or -1 */
	CLF_PRIVATE_ATTRS,			/* List of Integer attnums, or NIL for all */
	CLF_PRIVATE_ALL_COLUMNS		/* Boolean */
};

/* Executor state */
typedef struct ClfScanState
{
	ClfOptions	opts;
	ClfRowConverter *conv;
	ClfTraversal *trav;			/* created at the first row: EXPLAIN makes none */
	int64		limit_rows;
	bool		explain_only;

	/*
	 * The subtransaction the scan began in (a cursor's: the one it was
	 * declared in).  Its rollback ends the scan; a later one's does not, so
	 * that one keeps the slots and token fetches of requests its FETCHes
	 * started.
	 */
	SubTransactionId subid;

	/*
	 * Rows already returned, for rescans (inner side of a nested loop, a
	 * correlated subquery).  Only kept when a rescan is possible.
	 */
	Tuplestorestate *replay;
	TupleTableSlot *replay_slot;
	bool		replaying;
	int64		rows_replayed;
	int64		traversals;
} ClfScanState;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(contact_list_fdw_handler);

static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/*
 * Every query's run is told to scan_events.c, which so knows, when a
 * scan's memory goes without the executor ending it, whether its query
 * was running then (it failed: an error or cancel anywhere in it) or not
 * (an idle cursor rolled back: the scan only stopped).  An error skips the
 * report of the return, and leaves the query running until the rollback.
 */
#if PG_VERSION_NUM >= 180000
static void
clfExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count)
{
	clf_event_query_runs(queryDesc->estate);
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count);
	else
		standard_ExecutorRun(queryDesc, direction, count);
	clf_event_query_returned(queryDesc->estate);
}
#else
static void
clfExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	clf_event_query_runs(queryDesc->estate);
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count, execute_once);
	else
		standard_ExecutorRun(queryDesc, direction, count, execute_once);
	clf_event_query_returned(queryDesc->estate);
}
#endif

/* AFTER triggers run here: their error fails the query too */
static void
clfExecutorFinish(QueryDesc *queryDesc)
{
	clf_event_query_runs(queryDesc->estate);
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	clf_event_query_returned(queryDesc->estate);
}

/*
 * The nodes' ends run here, a scan's EndForeignScan among them: an error
 * in a node ended before it (another FDW's end: postgres_fdw closing its
 * remote cursor, file_fdw's program exiting with an error) fails the query
 * before the scan's end was reported, as an AFTER trigger's error does.
 * The executor state is gone by the return: its address is kept.
 */
static void
clfExecutorEnd(QueryDesc *queryDesc)
{
	const EState *query = queryDesc->estate;

	clf_event_query_runs(query);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	clf_event_query_returned(query);
}

/*
 * libcurl starts first, before anything is defined or hooked: its start
 * can fail for the machine's reasons (memory, the TLS library), and
 * PostgreSQL runs _PG_init again at the session's next LOAD or call, which
 * must not find the settings of the failed attempt already defined.  The
 * steps after it fail only out of memory, and such a load is not retried
 * cleanly.
 */
void
_PG_init(void)
{
	clf_http_init();
	clf_options_init();
	clf_wecom_init();
	clf_tokens_init();
	clf_shmem_init();
	clf_stats_init();
	clf_event_init();
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = clfExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = clfExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = clfExecutorEnd;
}

/*
 * Can the query's LIMIT be passed down as the page size?  Only when this
 * scan's rows go straight to the LIMIT: nothing filters, joins, sorts or
 * groups them first.  The planner has already cleared limit_tuples for
 * grouping, aggregates, DISTINCT, window functions and SRFs.  Getting this
 * wrong costs an extra page, never a row: the scan keeps following the
 * cursor chain as long as the executor asks for rows.
 */
static double
pushable_limit(PlannerInfo *root, RelOptInfo *baserel)
{
	if (root->limit_tuples <= 0)
		return -1;
	if (baserel->reloptkind != RELOPT_BASEREL)
		return -1;
	if (bms_membership(root->all_baserels) != BMS_SINGLETON)
		return -1;
	if (baserel->baserestrictinfo != NIL)
		return -1;
	if (root->parse->sortClause != NIL || root->parse->setOperations != NULL)
		return -1;

	/*
	 * The planner reads a count a stable function gives (current_setting(),
	 * now()) as it is when planning, and a plan used again (a prepared
	 * statement, PL/pgSQL's SQL) would keep asking for pages of that size.
	 */
	if (contain_mutable_functions(root->parse->limitCount) ||
		contain_mutable_functions(root->parse->limitOffset))
		return -1;
	return root->limit_tuples;
}

static void
contactListGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	ClfPlanState *state = palloc0(sizeof(ClfPlanState));
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	int			attnum;
	double		rows;

	clf_options_for_table(foreigntableid, &state->opts);

	/* the columns the query reads, as file_fdw finds them */
	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		pull_varattnos((Node *) rinfo->clause, baserel->relid, &attrs);
	}
	attnum = -1;
	while ((attnum = bms_next_member(attrs, attnum)) >= 0)
	{
		AttrNumber	attno = attnum + FirstLowInvalidHeapAttributeNumber;

		if (attno == 0)
			state->all_columns = true;
		else if (attno > 0)
			state->attrs_used = bms_add_member(state->attrs_used, attno);
	}

	/* ANALYZE's count, else the table's rows_estimate, else a default */
	if (baserel->tuples >= 0)	/* -1 until the first ANALYZE */
		rows = baserel->tuples;
	else if (state->opts.rows_estimate >= 0)
		rows = state->opts.rows_estimate;
	else
		rows = CLF_DEFAULT_ROWS_ESTIMATE;
	baserel->tuples = rows;
	baserel->rows = clamp_row_est(rows * clauselist_selectivity(root, baserel->baserestrictinfo,
																0, JOIN_INNER, NULL));
	state->limit_rows = pushable_limit(root, baserel);
	baserel->fdw_private = state;
}

/*
 * Each page is a round trip: request_cost for each, row_cost for each row
 * parsed and converted.  The first round trip is paid before the first row.
 * This is the whole scan's cost even under a pushed-down LIMIT: the path
 * promises all its rows, and the Limit node above prorates the cost to the
 * rows it takes, so cutting it here as well would count the limit twice.
 */
static void
estimate_costs(PlannerInfo *root, RelOptInfo *baserel, ClfPlanState *state,
			   Cost *startup_cost, Cost *total_cost)
{
	double		rows = baserel->tuples;
	double		pages = Max(1.0, ceil(rows / state->opts.page_size));

	*startup_cost = state->opts.request_cost + baserel->baserestrictcost.startup;
	*total_cost = *startup_cost + (pages - 1) * state->opts.request_cost +
		rows * (state->opts.row_cost + cpu_tuple_cost + baserel->baserestrictcost.per_tuple);
}

static void
contactListGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	ClfPlanState *state = (ClfPlanState *) baserel->fdw_private;
	Cost		startup_cost;
	Cost		total_cost;

	estimate_costs(root, baserel, state, &startup_cost, &total_cost);

	/*
	 * The scan needs nothing of other relations, but a child of an appendrel
	 * (a UNION ALL in a LATERAL subquery) inherits its parent's lateral
	 * references, and its path must be parameterized by them, as file_fdw's
	 * and postgres_fdw's are: else the planner finds no plan at all.
	 */
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
#if PG_VERSION_NUM >= 180000
									 0,
#endif
									 startup_cost, total_cost,
									 NIL, baserel->lateral_relids, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

static ForeignScan *
contactListGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
						  ForeignPath *best_path, List *tlist, List *scan_clauses,
						  Plan *outer_plan)
{
	ClfPlanState *state = (ClfPlanState *) baserel->fdw_private;
	List	   *attrs = NIL;
	List	   *fdw_private;
	int			attnum = -1;
	int			limit;

	/* every qual is checked locally: the API filters nothing */
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	while ((attnum = bms_next_member(state->attrs_used, attnum)) >= 0)
		attrs = lappend(attrs, makeInteger(attnum));
	limit = (state->limit_rows > 0 && state->limit_rows < PG_INT32_MAX)
		? (int) state->limit_rows : -1;

	fdw_private = list_make3(makeInteger(limit), attrs, makeBoolean(state->all_columns));
	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL, fdw_private,
							NIL, NIL, outer_plan);
}

static Oid
scan_user(ForeignScanState *node, EState *estate)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

#if PG_VERSION_NUM >= 160000
	return OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
	RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
}

static bool find_in_plan(Plan *node, Plan *target, bool rerun_here, bool rewind,
						 bool *rerun);

/* find_in_plan over children that each run as often as their parent */
static bool
find_in_list(List *plans, Plan *target, bool rerun_here, bool *rerun)
{
	ListCell   *lc;

	foreach(lc, plans)
	{
		if (find_in_plan((Plan *) lfirst(lc), target, rerun_here, false, rerun))
			return true;
	}
	return false;
}

/*
 * Is target in the plan tree under node, and if so, does a node above it run
 * it again while the statement runs (*rerun)?  rerun_here says whether node
 * itself may be.  A nested loop reruns its inner side for every outer row,
 * a recursive union its recursive term for every iteration; every other
 * node reruns its children only when it is rerun itself.  A node whose
 * children hang elsewhere than the ones looked at here (a custom scan's)
 * hides target: the caller then assumes the worst.
 *
 * rewind says that the executor starts node with EXEC_FLAG_REWIND, as a
 * nested loop without parameters starts its inner side.  A Material so
 * started keeps every row its child gives and reads its own store again on
 * a rescan, the child rerun only when a parameter it takes changes: a scan
 * under it that kept its rows too would write them a second time (to a
 * temporary file past work_mem) for nothing.  Other nodes' rules are not
 * read here: below them rewind is not passed on, and the worst is assumed.
 * A Sort, which keeps its rows too, also reruns its child when the bound a
 * Limit above it sets changes.
 */
static bool
find_in_plan(Plan *node, Plan *target, bool rerun_here, bool rewind, bool *rerun)
{
	if (node == NULL)
		return false;
	if (node == target)
	{
		*rerun = rerun_here;
		return true;
	}
	switch (nodeTag(node))
	{
		case T_NestLoop:
			{
				/* its inner side is started with REWIND if it takes no parameter */
				bool		inner_rewind = ((NestLoop *) node)->nestParams == NIL;

				return find_in_plan(node->lefttree, target, rerun_here, false, rerun) ||
					find_in_plan(node->righttree, target, true, inner_rewind, rerun);
			}
		case T_RecursiveUnion:
			return find_in_plan(node->lefttree, target, rerun_here, false, rerun) ||
				find_in_plan(node->righttree, target, true, false, rerun);
		case T_Material:
			return find_in_plan(node->lefttree, target,
								rerun_here && (!rewind || !bms_is_empty(node->lefttree->extParam)),
								false, rerun);
		case T_Append:
			return find_in_list(((Append *) node)->appendplans, target,
								rerun_here, rerun);
		case T_MergeAppend:
			return find_in_list(((MergeAppend *) node)->mergeplans, target,
								rerun_here, rerun);
		case T_SubqueryScan:
			return find_in_plan(((SubqueryScan *) node)->subplan, target,
								rerun_here, false, rerun);
		default:
			return find_in_plan(node->lefttree, target, rerun_here, false, rerun) ||
				find_in_plan(node->righttree, target, rerun_here, false, rerun);
	}
}

/*
 * May the executor rescan scan, one of stmt's foreign scans started with
 * eflags?  Only then are its rows kept for a replay: a scan that no node
 * reruns (a plain query, a materialized view's refresh, the outer side of a
 * join) streams without keeping any.  The executor says REWIND only where
 * the rescan needs no new parameter, and never under a nested loop with
 * parameters, nor where a LATERAL subquery's LIMIT or filter above the scan
 * takes the outer row: so the scan's place in the plan decides.
 *
 * A subplan that takes a parameter from outside it (a correlated subquery,
 * or a CTE inside one) may run once per outer row.  One that takes none
 * (an initPlan, a CTE of the statement's own level, an uncorrelated
 * subquery under the Material the planner gives it) runs once: the
 * executor reruns a subplan only when its parameters change, or asks for
 * REWIND (a subquery it rescans as it is).  Within it, again, the scan's
 * place decides.  ReScan copes with a rescan this did not foresee, with a
 * new traversal.
 */
static bool
rescan_foreseen(PlannedStmt *stmt, Plan *scan, int eflags)
{
	bool		rerun = true;
	ListCell   *lc;

	if (eflags & EXEC_FLAG_REWIND)
		return true;
	if (find_in_plan(stmt->planTree, scan, false, false, &rerun))
		return rerun;
	foreach(lc, stmt->subplans)
	{
		Plan	   *subplan = (Plan *) lfirst(lc);

		if (subplan != NULL &&
			find_in_plan(subplan, scan, !bms_is_empty(subplan->extParam), false, &rerun))
			return rerun;
	}
	/* found nowhere: a plan shape this does not know */
	return true;
}

static void
contactListBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	Relation	rel = node->ss.ss_currentRelation;
	ClfScanState *state = palloc0(sizeof(ClfScanState));
	Bitmapset  *attrs = NULL;
	ListCell   *lc;

	node->fdw_state = state;
	clf_options_for_table(RelationGetRelid(rel), &state->opts);
	state->limit_rows = intVal(list_nth(fsplan->fdw_private, CLF_PRIVATE_LIMIT));
	state->explain_only = (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0;
	state->subid = GetCurrentSubTransactionId();

	/* plain EXPLAIN needs no credentials and makes no request */
	if (state->explain_only)
		return;

	clf_options_add_user_mapping(&state->opts, scan_user(node, estate));
	foreach(lc, (List *) list_nth(fsplan->fdw_private, CLF_PRIVATE_ATTRS))
		attrs = bms_add_member(attrs, intVal(lfirst(lc)));
	state->conv = clf_converter_create(rel, attrs,
									   boolVal(list_nth(fsplan->fdw_private, CLF_PRIVATE_ALL_COLUMNS)),
									   state->opts.server_name);

#ifdef CLF_FAULT_INJECTION
	/* no plan known makes such a rescan: test builds pretend one does */
	if (fault_at("rescan_unforeseen"))
		return;
#endif
	if (rescan_foreseen(estate->es_plannedstmt, &fsplan->scan.plan, eflags))
	{
		state->replay = tuplestore_begin_heap(false, false, work_mem);
		state->replay_slot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
													  &TTSOpsMinimalTuple);
	}
}

/*
 * What of an error's message is redacted for the scan's record: the scan
 * logs keep at most its first 499 bytes, and the first 2000 leave room for
 * what redaction takes out.
 */
#define CLF_RECORDED_ERROR_MAX	2000

/*
 * The error being raised ends trav's scan: recorded for
 * contact_list_fdw_scans() and contact_list_fdw_recent_scans, which other
 * roles may read.  A fetch's messages are redacted where they are raised; a
 * conversion's may quote a value from the network (an input function's
 * "invalid input syntax"), so the message is redacted here too, as much of
 * it as is kept.
 */
static void
record_scan_error(ClfTraversal *trav, MemoryContext cxt)
{
	ErrorData  *edata;
	char	   *recorded = NULL;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (edata->message)
		recorded = clf_redact_head(edata->message, CLF_RECORDED_ERROR_MAX, &trav->opts, NULL);
	clf_event_scan_finished(&trav->report, CLF_SCAN_ERROR, recorded);
	FreeErrorData(edata);
}

/*
 * The next item of the traversal.  Fetching a page is where network and API
 * errors happen: catch them there to record the message for
 * contact_list_fdw_scans().  Items already in memory need no PG_TRY.
 */
static void *
next_item(ClfTraversal *trav)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	void	   *volatile item = NULL;

	if (trav->started && trav->item_index < trav->resp.nitems)
		return clf_traversal_next(trav);

	PG_TRY();
	{
		item = clf_traversal_next(trav);
	}
	PG_CATCH();
	{
		record_scan_error(trav, oldcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return item;
}

/*
 * One item of trav to a row's values.  A value that does not fit its column
 * ends the scan: its error is recorded as next_item's are.
 */
static void
convert_item(ClfTraversal *trav, ClfRowConverter *conv, void *item,
			 Datum *values, bool *isnull)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		clf_convert_item(conv, item, values, isnull);
	}
	PG_CATCH();
	{
		record_scan_error(trav, oldcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Going on with an asynchronous page for requestor (the Append), of a scan
 * begun in subtransaction subid: errors recorded as next_item's are.
 */
static bool
page_arrived(ClfTraversal *trav, PlanState *requestor, SubTransactionId subid)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool arrived = false;

	PG_TRY();
	{
		arrived = clf_traversal_poll(trav, requestor, subid);
	}
	PG_CATCH();
	{
		record_scan_error(trav, oldcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return arrived;
}

/* The scan's traversal, begun at its first row (EXPLAIN makes none). */
static void
ensure_traversal(ForeignScanState *node)
{
	ClfScanState *state = (ClfScanState *) node->fdw_state;

	if (state->trav != NULL)
		return;

	/*
	 * The pushed-down limit holds with a replay store too: it only sizes the
	 * pages, and a rescan that wants more rows than the first pass took
	 * replays those and then goes on along the same cursor chain, in full
	 * pages once the limit is used up (next_page_limit).
	 */
	state->trav = clf_traversal_begin(&state->opts, node->ss.ps.state->es_query_cxt,
									  state->limit_rows);
	clf_event_scan_started(&state->trav->report, &state->trav->opts,
						   &state->trav->stats, state->trav->scan_cxt,
						   RelationGetRelid(node->ss.ss_currentRelation),
						   node->ss.ps.state);
	state->traversals++;
}

static TupleTableSlot *
contactListIterateForeignScan(ForeignScanState *node)
{
	ClfScanState *state = (ClfScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	void	   *item;

	if (state->replaying)
	{
		/*
		 * Once the tuplestore has spilled to its file, each row read back is
		 * palloc'd in the current context, the per-tuple one that ExecScan
		 * resets before our next call, and replay_slot is told to free it.
		 * The row is copied into the scan slot at once, so the replay slot
		 * lets go of it here, while its memory is still alive: kept until
		 * the next read, it would be freed again after the reset.
		 */
		if (tuplestore_gettupleslot(state->replay, true, false, state->replay_slot))
		{
			state->rows_replayed++;
			ExecCopySlot(slot, state->replay_slot);
			ExecClearTuple(state->replay_slot);
			return slot;
		}
		state->replaying = false;
	}

	ensure_traversal(node);
	ExecClearTuple(slot);
	/* an asynchronous scan fetches its pages in produce_or_wait, not here */
	if (node->ss.ps.async_capable && !clf_traversal_has_rows(state->trav))
		return slot;
	item = next_item(state->trav);
	if (item == NULL)
	{
		/* a cursor at its end, then rolled back, read the table whole */
		clf_event_scan_exhausted(&state->trav->report,
								 clf_traversal_complete(state->trav));
		return slot;
	}

	state->conv->page_no = state->trav->pages_in_traversal;
	state->conv->item_no = state->trav->item_index;
	convert_item(state->trav, state->conv, item, slot->tts_values, slot->tts_isnull);
	ExecStoreVirtualTuple(slot);

	if (state->replay)
		tuplestore_puttupleslot(state->replay, slot);
	/* its last row: an idle cursor needs no empty fetch to be complete */
	if (clf_traversal_complete(state->trav))
		clf_event_scan_exhausted(&state->trav->report, true);
	return slot;
}

static void
contactListReScanForeignScan(ForeignScanState *node)
{
	ClfScanState *state = (ClfScanState *) node->fdw_state;

	if (state->replay)
	{
		/* replay what was fetched; continue the traversal past it if needed */
		tuplestore_rescan(state->replay);
		state->replaying = true;
		return;
	}
	/*
	 * A rescan nobody announced (see BeginForeignScan): start again, once,
	 * and keep the rows this time, so later rescans replay them.
	 */
	if (state->trav)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);

		clf_traversal_restart(state->trav);
		clf_event_scan_exhausted(&state->trav->report, false);
		state->trav->rows_wanted = -1;
		state->traversals++;
		state->replay = tuplestore_begin_heap(false, false, work_mem);
		state->replay_slot = MakeSingleTupleTableSlot(RelationGetDescr(node->ss.ss_currentRelation),
													  &TTSOpsMinimalTuple);
		MemoryContextSwitchTo(oldcxt);
	}
}

static void
contactListEndForeignScan(ForeignScanState *node)
{
	ClfScanState *state = (ClfScanState *) node->fdw_state;

	if (state == NULL || state->explain_only)
		return;
	if (state->trav)
	{
		/* a node's end that fails, as another FDW's may (ExecutorEnd) */
		FAULT_ERROR("end_foreign_scan");
		/* EXPLAIN ANALYZE has printed the counters by now */
		clf_traversal_end(state->trav);
		state->trav = NULL;
	}
	if (state->replay)
	{
		tuplestore_end(state->replay);
		ExecDropSingleTupleTableSlot(state->replay_slot);
	}
	state->replay = NULL;
}

/*
 * Under an Append, a table with async_capable keeps one page request in
 * flight while the Append takes rows from its other children.
 */
static bool
contactListIsForeignPathAsyncCapable(ForeignPath *path)
{
	ClfPlanState *state = (ClfPlanState *) path->path.parent->fdw_private;

	/*
	 * PostgreSQL's asynchronous Append (up to 19 at least) also waits for
	 * the postmaster's death, which fails (EBADF) where there is none: a
	 * single-user backend runs the scans one after another.
	 */
	return state->opts.async_capable && IsUnderPostmaster;
}

/*
 * Hand the Append a row if one can be had without waiting (rows left of
 * the page, the end of the chain, a rescan's replay, or a page that has
 * just arrived); else leave the request pending on the page's descriptor.
 */
static void
produce_or_wait(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	ClfScanState *state = (ClfScanState *) node->fdw_state;

	CHECK_FOR_INTERRUPTS();
	ensure_traversal(node);
	for (;;)
	{
		TupleTableSlot *result;

		if (!state->replaying && !clf_traversal_has_rows(state->trav) &&
			!page_arrived(state->trav, areq->requestor, state->subid))
		{
			ExecAsyncRequestPending(areq);
			return;
		}
		/* through the node, for its quals and projection (not counted twice) */
		result = areq->requestee->ExecProcNodeReal(areq->requestee);
		if (!TupIsNull(result) || state->trav->at_end)
		{
			ExecAsyncRequestDone(areq, TupIsNull(result) ? NULL : result);
			return;
		}
		/* the quals took every row left of the page: on to the next */
	}
}

static void
contactListForeignAsyncRequest(AsyncRequest *areq)
{
	produce_or_wait(areq);
}

/* One event per child: the page's descriptor (libcurl's sockets and its timer). */
static void
contactListForeignAsyncConfigureWait(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	ClfScanState *state = (ClfScanState *) node->fdw_state;
	AppendState *requestor = (AppendState *) areq->requestor;

	AddWaitEventToSet(requestor->as_eventset, WL_SOCKET_READABLE,
					  clf_traversal_socket(state->trav), NULL, areq);
}

static void
contactListForeignAsyncNotify(AsyncRequest *areq)
{
	produce_or_wait(areq);
}

static void
contactListExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ClfScanState *state = (ClfScanState *) node->fdw_state;
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	ExplainPropertyText("WeCom API", clf_endpoint_for_display(&state->opts), es);
	ExplainPropertyInteger("Page Size", NULL, state->opts.page_size, es);

	if (es->verbose)
	{
		List	   *attrs = (List *) list_nth(fsplan->fdw_private, CLF_PRIVATE_ATTRS);
		bool		all_columns = boolVal(list_nth(fsplan->fdw_private, CLF_PRIVATE_ALL_COLUMNS));
		TupleDesc	tupdesc = RelationGetDescr(node->ss.ss_currentRelation);
		StringInfoData cols;
		ListCell   *lc;

		initStringInfo(&cols);
		for (int i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute attr = TupleDescAttr(tupdesc, i);
			bool		used = all_columns;

			foreach(lc, attrs)
				used |= intVal(lfirst(lc)) == attr->attnum;
			if (used && !attr->attisdropped)
				appendStringInfo(&cols, "%s%s", cols.len ? ", " : "",
								 quote_identifier(NameStr(attr->attname)));
		}
		ExplainPropertyText("Columns Converted", cols.len ? cols.data : "none", es);
		if (state->limit_rows > 0)
			ExplainPropertyInteger("Pushed-down Limit", NULL, state->limit_rows, es);
		else
			ExplainPropertyText("Pushed-down Limit", "none", es);
	}

	if (es->analyze && state->trav)
	{
		ClfScanStats *stats = &state->trav->stats;

		ExplainPropertyInteger("Pages Fetched", NULL, stats->pages, es);
		ExplainPropertyInteger("API Requests", NULL, stats->requests, es);
		ExplainPropertyInteger("Retries", NULL, stats->retries, es);
		ExplainPropertyInteger("Token Fetches", NULL, stats->token_fetches, es);
		ExplainPropertyInteger("Rows Fetched", NULL, stats->rows, es);
		if (state->replay)
			ExplainPropertyInteger("Rows Kept", NULL,
								   tuplestore_tuple_count(state->replay), es);
		if (state->rows_replayed > 0 || state->traversals > 1)
		{
			ExplainPropertyInteger("Rows Replayed", NULL, state->rows_replayed, es);
			ExplainPropertyInteger("Traversals", NULL, state->traversals, es);
		}
		ExplainPropertyInteger("Bytes Received", "bytes", stats->bytes, es);
		if (es->timing)
			ExplainPropertyFloat("Network Time", "ms", stats->network_ms, 3, es);
	}
}

/*
 * ANALYZE: one traversal, every row offered to PostgreSQL's reservoir
 * sampler (Vitter's algorithm, as acquire_sample_rows does for heaps).
 */
static int
acquire_sample_rows(Relation relation, int elevel, HeapTuple *rows, int targrows,
					double *totalrows, double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(relation);
	ClfOptions	opts;
	ClfRowConverter *conv;
	ClfTraversal *trav;
	ReservoirStateData rstate;
	Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
	bool	   *isnull = palloc(sizeof(bool) * tupdesc->natts);
	MemoryContext row_cxt;
	MemoryContext oldcxt;
	double		seen = 0;
	double		rowstoskip = -1;
	int			numrows = 0;
	void	   *item;

	clf_options_for_table(RelationGetRelid(relation), &opts);

	/*
	 * The table owner's mapping, as postgres_fdw does: ANALYZE of a
	 * partitioned table runs as the parent's owner, who may have none.
	 */
	clf_options_add_user_mapping(&opts, relation->rd_rel->relowner);
	conv = clf_converter_create(relation, NULL, true, opts.server_name);
	trav = clf_traversal_begin(&opts, CurrentMemoryContext, -1);
	clf_event_scan_started(&trav->report, &trav->opts, &trav->stats,
						   trav->scan_cxt, RelationGetRelid(relation), NULL);
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "contact_list_fdw analyze row",
									ALLOCSET_DEFAULT_SIZES);
	reservoir_init_selection_state(&rstate, targrows);

	/* through the scan's wrappers, so a failed ANALYZE logs its own error */
	while ((item = next_item(trav)) != NULL)
	{
#if PG_VERSION_NUM >= 180000
		vacuum_delay_point(true);
#else
		vacuum_delay_point();
#endif
		conv->page_no = trav->pages_in_traversal;
		conv->item_no = trav->item_index;

		MemoryContextReset(row_cxt);
		oldcxt = MemoryContextSwitchTo(row_cxt);
		convert_item(trav, conv, item, values, isnull);
		MemoryContextSwitchTo(oldcxt);

		if (numrows < targrows)
			rows[numrows++] = heap_form_tuple(tupdesc, values, isnull);
		else
		{
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, seen, targrows);
			if (rowstoskip <= 0)
			{
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));

				heap_freetuple(rows[k]);
				rows[k] = heap_form_tuple(tupdesc, values, isnull);
			}
			rowstoskip -= 1;
		}
		seen += 1;
	}

	clf_event_scan_finished(&trav->report, CLF_SCAN_COMPLETE, NULL);
	ereport(elevel,
			(errmsg_plural("\"%s\": fetched %.0f rows in " INT64_FORMAT " page from WeCom; %d rows in sample",
						   "\"%s\": fetched %.0f rows in " INT64_FORMAT " pages from WeCom; %d rows in sample",
						   trav->stats.pages,
						   RelationGetRelationName(relation), seen, trav->stats.pages, numrows)));
	clf_traversal_end(trav);
	MemoryContextDelete(row_cxt);

	*totalrows = seen;
	*totaldeadrows = 0;
	return numrows;
}

/*
 * ANALYZE of an inheritance parent splits its sample among the children by
 * their sizes in pages: what this table would fill as a heap, by the rows
 * its own last ANALYZE counted (else rows_estimate, else the default).
 * One page for every table gave each foreign child an equal share, and the
 * parent's statistics the weight of its smallest corps.
 */
static BlockNumber
expected_pages(Relation relation)
{
	double		rows = relation->rd_rel->reltuples;	/* -1: never analyzed */
	double		bytes;

	if (rows < 0)
	{
		ClfOptions	opts;

		clf_options_for_table(RelationGetRelid(relation), &opts);
		rows = opts.rows_estimate >= 0 ? opts.rows_estimate : CLF_DEFAULT_ROWS_ESTIMATE;
	}
	bytes = rows * (get_rel_data_width(relation, NULL) + MAXALIGN(SizeofHeapTupleHeader));
	return (BlockNumber) Max(1.0, Min(ceil(bytes / BLCKSZ), (double) MaxBlockNumber));
}

static bool
contactListAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
							   BlockNumber *totalpages)
{
	*func = acquire_sample_rows;
	*totalpages = expected_pages(relation);
	return true;
}

/*
 * IMPORT FOREIGN SCHEMA wecom: the API has one table, contact_list, with
 * the columns WeCom documents.  The statement's OPTIONS become the table's
 * options, so the validator checks them when the table is created: an
 * unknown or misplaced one is an error, never silently dropped.
 */
static List *
contactListImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	ListCell   *lc;
	bool		listed = false;
	StringInfoData sql;

	if (strcmp(stmt->remote_schema, CLF_REMOTE_SCHEMA) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("remote schema \"%s\" does not exist on server \"%s\"",
						stmt->remote_schema, server->servername),
				 errhint("The only remote schema is \"%s\", with the table \"%s\".",
						 CLF_REMOTE_SCHEMA, CLF_REMOTE_TABLE)));

	foreach(lc, stmt->table_list)
	{
		if (strcmp(lfirst_node(RangeVar, lc)->relname, CLF_REMOTE_TABLE) == 0)
			listed = true;
	}
	if ((stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO && !listed) ||
		(stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT && listed))
		return NIL;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE FOREIGN TABLE %s (\n"
					 "  is_customer boolean,\n"
					 "  tmp_openid text,\n"
					 "  external_userid text,\n"
					 "  name text,\n"
					 "  follow_userid text,\n"
					 "  chat_id text,\n"
					 "  chat_name text,\n"
					 "  add_time timestamptz\n"
					 ") SERVER %s",
					 quote_identifier(CLF_REMOTE_TABLE),
					 quote_identifier(server->servername));
	foreach(lc, stmt->options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		appendStringInfo(&sql, "%s%s %s",
						 foreach_current_index(lc) == 0 ? " OPTIONS (" : ", ",
						 quote_identifier(def->defname),
						 quote_literal_cstr(defGetString(def)));
	}
	if (stmt->options != NIL)
		appendStringInfoChar(&sql, ')');
	return list_make1(sql.data);
}

Datum
contact_list_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = contactListGetForeignRelSize;
	routine->GetForeignPaths = contactListGetForeignPaths;
	routine->GetForeignPlan = contactListGetForeignPlan;
	routine->BeginForeignScan = contactListBeginForeignScan;
	routine->IterateForeignScan = contactListIterateForeignScan;
	routine->ReScanForeignScan = contactListReScanForeignScan;
	routine->EndForeignScan = contactListEndForeignScan;
	routine->ExplainForeignScan = contactListExplainForeignScan;
	routine->AnalyzeForeignTable = contactListAnalyzeForeignTable;
	routine->ImportForeignSchema = contactListImportForeignSchema;
	routine->IsForeignPathAsyncCapable = contactListIsForeignPathAsyncCapable;
	routine->ForeignAsyncRequest = contactListForeignAsyncRequest;
	routine->ForeignAsyncConfigureWait = contactListForeignAsyncConfigureWait;
	routine->ForeignAsyncNotify = contactListForeignAsyncNotify;

	PG_RETURN_POINTER(routine);
}
