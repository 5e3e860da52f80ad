package report

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"mlprov/catalog"
	"mlprov/internal/plot"
	"mlprov/internal/render"
)

// chromium finds a headless-capable Chromium: Debian's package installs it as chromium.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// screenshot renders the page at path in headless Chromium and returns what it drew.
func screenshot(t *testing.T, path string, width, height int) image.Image {
	t.Helper()
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
		}
		t.Skip("chromium is not installed (apt-get install chromium); CI runs this test")
	}
	shot := filepath.Join(t.TempDir(), "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+t.TempDir(), "--screenshot="+shot,
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "file://"+abs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// near reports whether c is within a small distance of want in every channel, allowing for
// anti-aliasing and colour management.
func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) int { return abs(int(x>>8) - int(y)) }
	return d(r, want.R) <= 12 && d(g, want.G) <= 12 && d(b, want.B) <= 12
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestHTMLInBrowser opens report.html as a person would, in a browser, and checks from the
// screenshot that the page drew (text and tables: many pixels that are not white) and that
// its embedded plots drew (pixels in the plots' own colours, which nothing else on the page
// uses). A broken data URL shows as a small icon and fails the second check. The first plot
// is a bar chart of two series, so that both colours fill whole bars within the window.
func TestHTMLInBrowser(t *testing.T) {
	in := sample()
	byOrchestrator := catalog.Analysis{Name: "usage_by_orchestrator", Description: "share of pipelines using each operator, by orchestrator",
		Topic: "architecture", Plot: catalog.Plot{Kind: "bar", X: "op_type", Y: "share", Series: "orchestrator"}, SQL: "SELECT 1",
		Result: &render.Result{Columns: []string{"op_type", "orchestrator", "share"}, Rows: [][]any{
			{"StatisticsGen", "tfx", 1.0}, {"StatisticsGen", "kfp", 0.9}, {"Trainer", "tfx", 0.95}, {"Trainer", "kfp", 1.0},
			{"Transform", "tfx", 0.6}, {"Transform", "kfp", 0.4}}}}
	in.Analyses = append([]catalog.Analysis{in.Analyses[1], byOrchestrator}, in.Analyses[3:]...)
	dir := write(t, in)
	img := screenshot(t, filepath.Join(dir, "report.html"), 1200, 2000)
	b := img.Bounds()
	if b.Dx() != 1200 || b.Dy() != 2000 {
		t.Fatalf("screenshot is %dx%d, want 1200x2000", b.Dx(), b.Dy())
	}
	var ink, blue, orange int
	colours := map[color.RGBA]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			r, g, bl, _ := c.RGBA()
			if r>>8 < 240 || g>>8 < 240 || bl>>8 < 240 {
				ink++
			}
			if len(colours) < 1000 {
				colours[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 0xff}] = true
			}
			switch {
			case near(c, plot.Palette[0]):
				blue++
			case near(c, plot.Palette[1]):
				orange++
			}
		}
	}
	t.Logf("screenshot: %d pixels not white, %d in the first plot colour, %d in the second, %d+ colours", ink, blue, orange, len(colours))
	if ink < b.Dx()*b.Dy()/50 {
		t.Errorf("the page looks blank: only %d pixels are not white", ink)
	}
	if len(colours) < 50 {
		t.Errorf("the page has only %d colours: text and plots did not draw", len(colours))
	}
	// The bars of each series fill more than 20,000 pixels.
	if blue < 20000 {
		t.Errorf("only %d pixels in the plots' first colour: the embedded plots did not draw", blue)
	}
	if orange < 20000 {
		t.Errorf("only %d pixels in the plots' second colour: the plots of series did not draw", orange)
	}
	if keep := os.Getenv("MLPROV_SCREENSHOT"); keep != "" {
		// Keep the screenshot where a person can look at it.
		f, err := os.Create(keep)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
	}
}
