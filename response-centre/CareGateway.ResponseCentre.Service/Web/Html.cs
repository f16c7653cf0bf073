using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>What a page needs to render: the language, the user, the CSRF token and the centre's time zone.</summary>
public sealed record PageContext(string Lang, CentreUser? User, string CsrfField, string CsrfToken, TimeZoneInfo Zone, DateTimeOffset Now)
{
    public string T(string key) => Texts.T(Lang, key);

    public string Local(DateTimeOffset? t, string format = "yyyy-MM-dd HH:mm:ss") =>
        t is { } v ? TimeZoneInfo.ConvertTime(v, Zone).ToString(format, CultureInfo.InvariantCulture) : "";

    public string Csrf => $"<input type=\"hidden\" name=\"{Html.E(CsrfField)}\" value=\"{Html.E(CsrfToken)}\">";

    public bool IsAdmin => User?.Role == Roles.Admin;
}

/// <summary>Server-rendered HTML: every value goes through <see cref="E"/>.</summary>
public static class Html
{
    // Letters such as æ, ø and å stay readable; markup characters are always encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    public static string E(string? s) => Encoder.Encode(s ?? "");

    public static string Duration(TimeSpan t)
    {
        if (t < TimeSpan.Zero)
        {
            t = TimeSpan.Zero;
        }

        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours} h {t.Minutes:00} min")
            : t.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{t.Minutes} min {t.Seconds:00} s")
            : t.TotalSeconds < 10 && t.Ticks % TimeSpan.TicksPerSecond != 0 ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0} s")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Seconds} s");
    }

    public static string Layout(PageContext p, string active, string title, string body)
    {
        var nav = new StringBuilder();
        foreach (var (href, key) in new[] { ("/", "queue"), ("/history", "history"), ("/gateways", "gateways"), ("/figures", "figures"), ("/export", "export"), ("/audit", "audit") })
        {
            if (key == "audit" && !p.IsAdmin)
            {
                continue;
            }

            nav.Append(CultureInfo.InvariantCulture, $"<a href=\"{href}\"{(key == active ? " class=\"active\" aria-current=\"page\"" : "")}>{E(p.T(key))}</a>");
        }

        var other = p.Lang == Texts.English ? Texts.Bokmal : Texts.English;
        var user = p.User is null ? "" : $"""
            <form method="post" action="/lang" class="inline">{p.Csrf}<input type="hidden" name="lang" value="{other}"><button class="link" title="{E(p.T("language"))}">{(other == Texts.English ? "English" : "Norsk")}</button></form>
            <span class="user">{E(p.User.UserName)} ({E(p.User.Role)})</span>
            <form method="post" action="/logout" class="inline">{p.Csrf}<button class="link">{E(p.T("logout"))}</button></form>
            """;
        return $"""
            <!DOCTYPE html>
            <html lang="{(p.Lang == Texts.English ? "en" : "nb")}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)} · {E(p.T("title"))}</title>
            <style>{ConsoleAssets.Css}</style>
            </head>
            <body data-lang="{p.Lang}">
            <header><strong class="brand">{E(p.T("title"))}</strong><nav>{(p.User is null ? "" : nav.ToString())}</nav><div class="who">{user}</div></header>
            <main>
            <h1>{E(title)}</h1>
            {body}
            </main>
            {(p.User is null ? "" : "<script src=\"/console.js\" defer></script>")}
            </body>
            </html>
            """;
    }

    public static string PriorityBadge(PageContext p, CareGateway.Protocol.AlarmPriority priority)
    {
        var name = priority.ToString().ToLowerInvariant();
        return $"<span class=\"prio prio-{name}\">{E(p.T("priority." + name))}</span>";
    }

    public static string StatusText(PageContext p, StoredAlarm a) =>
        a.State == CareGateway.Protocol.AlarmState.Cancelled ? p.T("status.cancelled") : p.T("status." + a.Status.ToString().ToLowerInvariant());
}

/// <summary>The console's stylesheet and script, embedded in the assembly.</summary>
public static class ConsoleAssets
{
    public static string Css { get; } = Read("console.css");

    public static string Js { get; } = Read("console.js");

    private static string Read(string name)
    {
        using var stream = typeof(ConsoleAssets).Assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
