<?php
// The seeds' engine, render only: every *.html file of a folder to a PDF with DomPDF
// (Debian's php-dompdf 2.0.3), one Dompdf object per document as the seeds' batch did.
//
//   php render.php fonts <font folder>                      once, not measured
//   php render.php render <font folder> <html folder> <pdf folder>   prints the PDFs written
//
// Debian ships DomPDF's DejaVu fonts without their metrics (.ufm), so text would come out
// without a font: `fonts` writes the metrics of DejaVu Serif (php-font-lib) into a folder of
// its own and registers the family there, as DomPDF's own load_font.php does.
require_once '/usr/share/php/dompdf/autoload.php';

use Dompdf\Dompdf;
use Dompdf\Options;

const VARIANTS = ['normal' => 'DejaVuSerif', 'bold' => 'DejaVuSerif-Bold',
                  'italic' => 'DejaVuSerif-Italic', 'bold_italic' => 'DejaVuSerif-BoldItalic'];

function install_fonts(string $dir): void
{
    @mkdir($dir, 0755, true);
    foreach (VARIANTS as $name) {
        $ttf = "/usr/share/php/dompdf/lib/fonts/$name.ttf";
        copy($ttf, "$dir/$name.ttf");
        $font = \FontLib\Font::load("$dir/$name.ttf");
        $font->parse();
        $font->saveAdobeFontMetrics("$dir/$name.ufm");
        $font->close();
    }
    file_put_contents("$dir/installed-fonts.json", json_encode(['dejavu serif' => VARIANTS]));
}

function render_all(string $fonts, string $in, string $out): int
{
    $files = glob("$in/*.html");
    sort($files);
    $options = new Options();
    $options->set('isRemoteEnabled', false);
    $options->set('fontDir', $fonts);
    $options->set('fontCache', $fonts);
    foreach ($files as $file) {
        $dompdf = new Dompdf($options);
        $dompdf->loadHtml(file_get_contents($file), 'UTF-8');
        $dompdf->setPaper('A4');
        $dompdf->render();
        file_put_contents("$out/" . basename($file, '.html') . '.pdf', $dompdf->output());
    }
    return count($files);
}

if ($argv[1] === 'fonts') {
    install_fonts($argv[2]);
} else {
    echo render_all($argv[2], $argv[3], $argv[4]), "\n";
}
