using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 18: the handling log and the dispatches' links, on both databases.</summary>
public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset H0 = new(2026, 11, 24, 1, 20, 0, TimeSpan.Zero);

    internal static HandlingStep Step(string alarmId, string kind, DateTimeOffset at, string by = "operator-1", string? toWhom = null, string? outcome = null, string? text = null, string? dispatchId = null, string gateway = "gw-0042") => new()
    {
        StepId = HandlingStep.NewId(),
        GatewayId = gateway,
        AlarmId = alarmId,
        At = at,
        By = by,
        Kind = kind,
        ToWhom = toWhom,
        Outcome = outcome,
        Text = text,
        DispatchId = dispatchId,
    };

    internal static (DispatchRecord Dispatch, HandlingStep Step, string Token) NewDispatch(string alarmId, string team, DateTimeOffset at, TimeSpan lasts, string gateway = "gw-0042")
    {
        var token = DispatchRecord.NewToken();
        var d = new DispatchRecord
        {
            DispatchId = Guid.NewGuid().ToString(),
            GatewayId = gateway,
            AlarmId = alarmId,
            Team = team,
            TokenHash = DispatchRecord.HashToken(token),
            CreatedAt = at,
            CreatedBy = "operator-1",
            ExpiresAt = at + lasts,
        };
        return (d, Step(alarmId, HandlingKind.Dispatch, at, toWhom: team, dispatchId: d.DispatchId, gateway: gateway), token);
    }

    [Fact]
    public async Task Handling_is_recorded_only_between_accept_and_close_in_time_order_and_closing_ends_the_teams_link()
    {
        var store = await NewStoreAsync();
        await store.AddAlarmAsync(Alarm("h-1"), default);
        await store.AddAlarmAsync(Alarm("h-1", gateway: "gw-0043"), default); // another home's alarm with the same id

        // Not accepted yet: nothing is recorded.
        Assert.False(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Call, H0, toWhom: "beboer", outcome: CallOutcome.Reached), default));
        var early = NewDispatch("h-1", "Hjemmetjenesten Nord", H0, TimeSpan.FromHours(12));
        Assert.False(await store.AddDispatchAsync(early.Dispatch, early.Step, default));
        Assert.Empty(await store.DispatchesAsync(Key("h-1"), default));

        Assert.True(await store.AcceptAsync(Key("h-1"), "operator-1", H0, default));
        // Out of order on purpose: the log comes back by time.
        Assert.True(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Call, H0.AddMinutes(2), toWhom: "datter", outcome: CallOutcome.Reached, text: "Datter drar dit <nå>"), default));
        Assert.True(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Call, H0.AddMinutes(1), toWhom: "beboer", outcome: CallOutcome.NoAnswer), default));
        var (dispatch, step, token) = NewDispatch("h-1", "Hjemmetjenesten Nord", H0.AddMinutes(3), TimeSpan.FromHours(12));
        Assert.True(await store.AddDispatchAsync(dispatch, step, default));

        var found = await store.FindDispatchAsync(DispatchRecord.HashToken(token), default);
        Assert.NotNull(found);
        Assert.Equal(("Hjemmetjenesten Nord", Key("h-1"), dispatch.ExpiresAt), (found.Team, found.Key, found.ExpiresAt));
        Assert.True(found.IsValidAt(H0.AddMinutes(4)));
        Assert.Null(await store.FindDispatchAsync(DispatchRecord.HashToken(DispatchRecord.NewToken()), default));
        Assert.NotEqual(token, found.TokenHash); // only the hash is kept

        // The team's steps: each once (a double tap stores one), only on its own dispatch.
        Assert.True(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.OnTheWay, H0.AddMinutes(4), by: "Hjemmetjenesten Nord", dispatchId: dispatch.DispatchId), default));
        Assert.False(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.OnTheWay, H0.AddMinutes(4), by: "Hjemmetjenesten Nord", dispatchId: dispatch.DispatchId), default));
        Assert.False(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Arrived, H0.AddMinutes(5), by: "x", dispatchId: dispatch.DispatchId, gateway: "gw-0043"), default));
        Assert.True(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Arrived, H0.AddMinutes(9), by: "Hjemmetjenesten Nord", dispatchId: dispatch.DispatchId), default));

        var log = await store.HandlingAsync(Key("h-1"), default);
        Assert.Equal([HandlingKind.Call, HandlingKind.Call, HandlingKind.Dispatch, HandlingKind.OnTheWay, HandlingKind.Arrived], log.Select(s => s.Kind));
        Assert.Equal(["beboer", "datter", "Hjemmetjenesten Nord"], log.Take(3).Select(s => s.ToWhom));
        Assert.Equal([CallOutcome.NoAnswer, CallOutcome.Reached], log.Take(2).Select(s => s.Outcome));
        Assert.Equal("Datter drar dit <nå>", log[1].Text);
        Assert.Equal(H0.AddMinutes(9), log[4].At);
        Assert.Equal(dispatch.DispatchId, log[2].DispatchId);
        Assert.Empty(await store.HandlingAsync(Key("h-1", "gw-0043"), default));
        Assert.Equal(5, (await store.HandlingOfAlarmsRaisedAsync(H0.AddHours(-1), H0.AddHours(1), default)).Count);
        Assert.Empty(await store.HandlingOfAlarmsRaisedAsync(H0.AddHours(1), H0.AddHours(2), default));

        // Closing ends the link; nothing more is recorded.
        Assert.True(await store.CloseAsync(Key("h-1"), "operator-1", H0.AddMinutes(20), null, CloseOutcome.Handled, default));
        var ended = (await store.DispatchesAsync(Key("h-1"), default)).Single();
        Assert.Equal(H0.AddMinutes(20), ended.EndedAt);
        Assert.False(ended.IsValidAt(H0.AddMinutes(21)));
        Assert.False(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Done, H0.AddMinutes(21), by: "Hjemmetjenesten Nord", dispatchId: dispatch.DispatchId), default));
        Assert.False(await store.AddHandlingStepAsync(Step("h-1", HandlingKind.Call, H0.AddMinutes(21), toWhom: "beboer", outcome: CallOutcome.Busy), default));
        Assert.Equal(5, (await store.HandlingAsync(Key("h-1"), default)).Count);
    }

    [Fact]
    public async Task Handling_a_teams_step_after_its_link_expired_is_not_recorded()
    {
        var store = await NewStoreAsync();
        await store.AddAlarmAsync(Alarm("h-2"), default);
        Assert.True(await store.AcceptAsync(Key("h-2"), "operator-1", H0, default));
        var (dispatch, step, _) = NewDispatch("h-2", "Kari Hjemmesykepleier", H0, TimeSpan.FromMinutes(30));
        Assert.True(await store.AddDispatchAsync(dispatch, step, default));
        Assert.False(await store.AddHandlingStepAsync(Step("h-2", HandlingKind.OnTheWay, H0.AddMinutes(30), by: dispatch.Team, dispatchId: dispatch.DispatchId), default));
        Assert.True(await store.AddHandlingStepAsync(Step("h-2", HandlingKind.OnTheWay, H0.AddMinutes(29), by: dispatch.Team, dispatchId: dispatch.DispatchId), default));
    }

    [Fact]
    public async Task Handling_retention_clears_the_steps_text_with_the_note_and_deletes_steps_and_dispatches_with_the_alarm()
    {
        var store = await NewStoreAsync();
        foreach (var id in new[] { "old", "middle" })
        {
            await store.AddAlarmAsync(Alarm("r-" + id, seq: id.Length), default);
            Assert.True(await store.AcceptAsync(Key("r-" + id), "operator-1", H0, default));
            Assert.True(await store.AddHandlingStepAsync(Step("r-" + id, HandlingKind.Call, H0.AddMinutes(1), toWhom: "beboer", outcome: CallOutcome.Reached, text: "svimmel"), default));
            var (d, s, _) = NewDispatch("r-" + id, "Team", H0.AddMinutes(2), TimeSpan.FromHours(1));
            Assert.True(await store.AddDispatchAsync(d, s, default));
        }

        Assert.True(await store.CloseAsync(Key("r-old"), "operator-1", H0.AddMinutes(10), null, CloseOutcome.Handled, default));
        Assert.True(await store.CloseAsync(Key("r-middle"), "operator-1", H0.AddDays(300), null, CloseOutcome.Handled, default));

        var now = H0.AddDays(400);
        await store.ApplyRetentionAsync(new RetentionCutoffs(now.AddDays(-365), now.AddDays(-90), null), default);

        Assert.Empty(await store.HandlingAsync(Key("r-old"), default));
        Assert.Empty(await store.DispatchesAsync(Key("r-old"), default));
        var kept = await store.HandlingAsync(Key("r-middle"), default);
        Assert.Equal(2, kept.Count);
        Assert.All(kept, s => Assert.Null(s.Text));
        Assert.Equal("beboer", kept[0].ToWhom);
        Assert.Single(await store.DispatchesAsync(Key("r-middle"), default));
    }
}
