<?php
// The seeds' engine, render only: every *.html file of a folder to a PDF with DomPDF
// (Debian's php-dompdf 2.0.3), one Dompdf object per document as the seeds' batch did.
// Usage: php render.php <html folder> <pdf folder>; prints the number of PDFs written.
require_once '/usr/share/php/dompdf/autoload.php';

use Dompdf\Dompdf;
use Dompdf\Options;

[$_, $in, $out] = $argv;
$files = glob("$in/*.html");
sort($files);
$options = new Options();
$options->set('isRemoteEnabled', false);
foreach ($files as $file) {
    $dompdf = new Dompdf($options);
    $dompdf->loadHtml(file_get_contents($file), 'UTF-8');
    $dompdf->setPaper('A4');
    $dompdf->render();
    file_put_contents("$out/" . basename($file, '.html') . '.pdf', $dompdf->output());
}
echo count($files), "\n";
