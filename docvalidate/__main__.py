from docvalidate.cli import main

main()
