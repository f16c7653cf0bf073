using System.Data.Common;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>
/// Issue 18: the handling log between accept and close (the operator's calls and dispatches, the team's steps) and the
/// dispatches' links. Every guard is in the statement itself (the alarm accepted and not closed, the link working, a
/// team step once), so a step and a close that race, or two instances, never store a step on a closed alarm.
/// Values in an <c>INSERT ... SELECT</c> are cast, so PostgreSQL knows the type of a parameter that is null.
/// </summary>
public abstract partial class SqlCentreStore
{
    private const string StepColumns = "step_id, alarm_id, gateway_id, at, by_id, kind, to_whom, outcome, text, dispatch_id";

    private const string DispatchColumns = "dispatch_id, alarm_id, gateway_id, team, token_hash, created_at, created_by, expires_at, ended_at";

    /// <summary>The alarm is taken by an operator and not closed: the only time handling is recorded.</summary>
    private const string AlarmInHand = "EXISTS (SELECT 1 FROM alarm x WHERE x.gateway_id = @gw AND x.alarm_id = @alarm AND x.status = 2)";

    private const string InsertStepSql = $"""
        INSERT INTO handling_step ({StepColumns})
        SELECT CAST(@id AS TEXT), CAST(@alarm AS TEXT), CAST(@gw AS TEXT), CAST(@at AS BIGINT), CAST(@by AS TEXT), CAST(@kind AS TEXT),
          CAST(@to_whom AS TEXT), CAST(@outcome AS TEXT), CAST(@text AS TEXT), CAST(@dispatch AS TEXT)
        WHERE {AlarmInHand}
        """;

    /// <summary>A team's step: also its link must work at the step's time; a second one of a kind is left out.</summary>
    private const string InsertTeamStepSql = InsertStepSql + """

          AND EXISTS (SELECT 1 FROM dispatch d WHERE d.dispatch_id = @dispatch AND d.gateway_id = @gw AND d.alarm_id = @alarm
            AND d.ended_at IS NULL AND d.expires_at > @at)
        ON CONFLICT DO NOTHING
        """;

    private const string InsertDispatchSql = $"""
        INSERT INTO dispatch ({DispatchColumns})
        SELECT CAST(@id AS TEXT), CAST(@alarm AS TEXT), CAST(@gw AS TEXT), CAST(@team AS TEXT), CAST(@hash AS TEXT), CAST(@created AS BIGINT),
          CAST(@by AS TEXT), CAST(@expires AS BIGINT), NULL
        WHERE {AlarmInHand}
        """;

    public async Task<bool> AddHandlingStepAsync(HandlingStep handling, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        return await ExecAsync(db, null, handling.DispatchId is null ? InsertStepSql : InsertTeamStepSql, ct, StepArgs(handling)) == 1;
    }

    public async Task<bool> AddDispatchAsync(DispatchRecord dispatch, HandlingStep handling, CancellationToken ct)
    {
        if (handling.Kind != HandlingKind.Dispatch || handling.DispatchId != dispatch.DispatchId || handling.Key != dispatch.Key)
        {
            throw new ArgumentException("the step of a dispatch is its 'dispatch' step, of the same alarm and dispatch id", nameof(handling));
        }

        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        if (await ExecAsync(db, tx, InsertDispatchSql, ct,
            ("id", dispatch.DispatchId), ("alarm", dispatch.AlarmId), ("gw", dispatch.GatewayId), ("team", dispatch.Team), ("hash", dispatch.TokenHash),
            ("created", Ms(dispatch.CreatedAt)), ("by", dispatch.CreatedBy), ("expires", Ms(dispatch.ExpiresAt))) != 1)
        {
            return false; // the transaction is rolled back on dispose
        }

        // Its own step is not a team step: the plain insert, in the same transaction.
        await ExecAsync(db, tx, InsertStepSql, ct, StepArgs(handling));
        await tx.CommitAsync(ct);
        return true;
    }

    public Task<IReadOnlyList<HandlingStep>> HandlingAsync(AlarmKey key, CancellationToken ct) =>
        QueryAsync($"SELECT {StepColumns} FROM handling_step WHERE gateway_id = @gw AND alarm_id = @alarm ORDER BY at, step_id", ReadStep, ct,
            ("gw", key.GatewayId), ("alarm", key.AlarmId));

    public Task<IReadOnlyList<HandlingStep>> HandlingOfAlarmsRaisedAsync(DateTimeOffset from, DateTimeOffset until, CancellationToken ct) =>
        QueryAsync($"""
            SELECT {string.Join(", ", StepColumns.Split(", ").Select(c => "s." + c))} FROM handling_step s
            JOIN alarm a ON a.gateway_id = s.gateway_id AND a.alarm_id = s.alarm_id
            WHERE a.raised_at >= @from AND a.raised_at < @to ORDER BY s.at, s.step_id
            """, ReadStep, ct, ("from", Ms(from)), ("to", Ms(until)));

    public Task<IReadOnlyList<DispatchRecord>> DispatchesAsync(AlarmKey key, CancellationToken ct) =>
        QueryAsync($"SELECT {DispatchColumns} FROM dispatch WHERE gateway_id = @gw AND alarm_id = @alarm ORDER BY created_at, dispatch_id", ReadDispatch, ct,
            ("gw", key.GatewayId), ("alarm", key.AlarmId));

    public async Task<DispatchRecord?> FindDispatchAsync(string tokenHash, CancellationToken ct) =>
        First(await QueryAsync($"SELECT {DispatchColumns} FROM dispatch WHERE token_hash = @hash", ReadDispatch, ct, ("hash", tokenHash)));

    private static (string, object?)[] StepArgs(HandlingStep s) =>
    [
        ("id", s.StepId), ("alarm", s.AlarmId), ("gw", s.GatewayId), ("at", Ms(s.At)), ("by", s.By), ("kind", s.Kind),
        ("to_whom", s.ToWhom), ("outcome", s.Outcome), ("text", s.Text), ("dispatch", s.DispatchId),
    ];

    private static HandlingStep ReadStep(DbDataReader r) => new()
    {
        StepId = r.GetString(0),
        AlarmId = r.GetString(1),
        GatewayId = r.GetString(2),
        At = FromMs(r.GetValue(3)),
        By = r.GetString(4),
        Kind = r.GetString(5),
        ToWhom = NullableString(r, 6),
        Outcome = NullableString(r, 7),
        Text = NullableString(r, 8),
        DispatchId = NullableString(r, 9),
    };

    private static DispatchRecord ReadDispatch(DbDataReader r) => new()
    {
        DispatchId = r.GetString(0),
        AlarmId = r.GetString(1),
        GatewayId = r.GetString(2),
        Team = r.GetString(3),
        TokenHash = r.GetString(4),
        CreatedAt = FromMs(r.GetValue(5)),
        CreatedBy = r.GetString(6),
        ExpiresAt = FromMs(r.GetValue(7)),
        EndedAt = NullableMs(r, 8),
    };
}
