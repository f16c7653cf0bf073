using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;

namespace CareGateway.ResponseCentre.Service.Homes;

/// <summary>
/// The home pages and their API: everyone signed in reads a home's record (each read is in the audit log, see
/// <see cref="AuditTrail"/>); an admin changes it and deletes a resident's data.
/// </summary>
public static class HomeEndpoints
{
    public static string HomePath(string gatewayId) => "/homes/" + Uri.EscapeDataString(gatewayId);

    public static void Map(RouteGroupBuilder console)
    {
        HomeCommands.Map(console);

        console.MapGet("/homes/{gateway}", async (string gateway, HttpContext ctx, ICentreStore store, HomeRecords homes) =>
        {
            if (!CareGateway.Protocol.GatewayId.IsValid(gateway))
            {
                return ConsoleEndpoints.Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var p = await ConsoleEndpoints.UserPageAsync(ctx, store);
            var record = (await homes.ForListAsync([gateway], ctx.RequestAborted)).GetValueOrDefault(gateway);
            return ConsoleEndpoints.HtmlResult(HomePages.Home(p, gateway, await store.GetGatewayAsync(gateway, ctx.RequestAborted), record, [], await store.CommandsAsync(gateway, 20, ctx.RequestAborted)));
        });

        console.MapPost("/homes/{gateway}", async (string gateway, HttpContext ctx, ICentreStore store, HomeRecords homes, CentreEvents events) =>
        {
            if (!CareGateway.Protocol.GatewayId.IsValid(gateway))
            {
                return ConsoleEndpoints.Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var (record, errors) = HomeForm.Read(await ctx.Request.ReadFormAsync(ctx.RequestAborted));
            var p = await ConsoleEndpoints.UserPageAsync(ctx, store);
            if (errors.Count > 0)
            {
                // The form again, with what was typed and every problem named: nothing is saved, nothing is lost.
                return ConsoleEndpoints.HtmlResult(HomePages.Home(p, gateway, await store.GetGatewayAsync(gateway, ctx.RequestAborted), record, errors, await store.CommandsAsync(gateway, 20, ctx.RequestAborted)), StatusCodes.Status400BadRequest);
            }

            await store.EnsureGatewayAsync(gateway, 0, ctx.RequestAborted);
            await homes.SaveAsync(gateway, record, p.User!.UserName, ctx.RequestAborted);
            events.Publish("gateway");
            return Results.Redirect(HomePath(gateway));
        }).RequireAuthorization(Roles.Admin).AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);

        console.MapPost("/homes/{gateway}/residents/{index}/delete", async (string gateway, string index, HttpContext ctx, ICentreStore store, HomeRecords homes, CentreEvents events) =>
        {
            if (!CareGateway.Protocol.GatewayId.IsValid(gateway) || !int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var i))
            {
                return ConsoleEndpoints.Refused($"'{DateRange.Shorten(gateway)}/{DateRange.Shorten(index)}' names no resident.");
            }

            var user = await ConsoleEndpoints.CurrentUserAsync(ctx, store);
            if (!await homes.DeleteResidentAsync(gateway, i, user.UserName, ctx.RequestAborted))
            {
                return Results.NotFound();
            }

            events.Publish("gateway");
            return Results.Redirect(HomePath(gateway));
        }).RequireAuthorization(Roles.Admin).AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);

        console.MapGet("/api/homes/{gateway}", async (string gateway, HttpContext ctx, ICentreStore store, HomeRecords homes) =>
        {
            if (!CareGateway.Protocol.GatewayId.IsValid(gateway))
            {
                return ApiError(StatusCodes.Status400BadRequest, $"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var record = (await homes.ForListAsync([gateway], ctx.RequestAborted)).GetValueOrDefault(gateway);
            if (record is { IsUnreadable: true })
            {
                return ApiError(StatusCodes.Status500InternalServerError, $"The resident record of {gateway} cannot be opened with this service's keys.");
            }

            var gw = await store.GetGatewayAsync(gateway, ctx.RequestAborted);
            if (gw is null && record is null)
            {
                return ApiError(StatusCodes.Status404NotFound, $"No home {gateway}.");
            }

            var body = new ApiHome(gateway, gw?.Label, gw?.HomeGroup, record);
            return Results.Bytes(JsonSerializer.SerializeToUtf8Bytes(body, HomeApiJson.Default.ApiHome), "application/json; charset=utf-8");
        });
    }

    private static IResult ApiError(int status, string message) =>
        Results.Text(JsonSerializer.Serialize(new ApiError(message), HomeApiJson.Default.ApiError), "application/json; charset=utf-8", System.Text.Encoding.UTF8, status);
}

/// <summary>A home as the API gives it: its gateway, label, group and resident record (null when it has none).</summary>
public sealed record ApiHome(string GatewayId, string? Label, string? Group, HomeRecord? Record);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiHome))]
[JsonSerializable(typeof(ApiError))]
internal sealed partial class HomeApiJson : JsonSerializerContext;
