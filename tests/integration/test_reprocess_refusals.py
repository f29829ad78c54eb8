"""A refused file is never stored, so a reprocess never classifies it again; the analyst trial saw it
vanish from its batch once the served model changed (reads count the served model's records). A
reprocess lists each refusal under the new model too."""

from records_helpers import make_record

from spotter.adapters.dynamodb import DynamoPredictionQueries, DynamoPredictions
from spotter.records import object_id_for
from spotter.results.query import PredictionQuery
from spotter.results.versions import carry_refusals


def _web(i, batch, **changes):
    key = f"uploads/{batch}/{i:036d}-f{i}.jpg"
    return make_record(i, key=key, object_id=object_id_for("b", key), source="web", batch=batch, **changes)


def test_a_reprocess_lists_refused_files_under_the_new_model_once(stack):
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    store, queries = DynamoPredictions(table), DynamoPredictionQueries(table)
    refused = _web(1, "b1", status="refused", label=None, score=None, top=None)
    store.put(refused)
    store.put(_web(2, "b1"))
    store.put(_web(3, "other", status="refused", label=None, score=None, top=None))

    assert carry_refusals(queries.query, store, "m@2", batch="b1") == 1
    records, _ = queries.query(PredictionQuery(batch="b1", model="m@2"))
    assert [(r.object_id, r.status, r.model_version) for r in records] == [(refused.object_id, "refused", "2")]
    assert carry_refusals(queries.query, store, "m@2", batch="b1") == 0  # already listed: nothing written
